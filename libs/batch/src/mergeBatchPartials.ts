import { AnomalyPartial } from './AnomalyPartial';
import type { BatchJobOptions, SerializedAnomalyRun, SerializedJoinRun, SerializedPartial } from './BatchJobOptions';
import { BatchSummary } from './BatchSummary';
import { createBatchRun } from './createBatchRun';
import { BatchInputError, describeValue } from './errors';
import { readKind, readObject } from './readSerialized';
import { WindowMetricsPartial } from './WindowMetricsPartial';

/**
 * Combines the partials of several runs (replicas, partitions) of the same job into one partial.
 * Order matters only for event indices: for `detect_anomalies` the second partial's indices are shifted
 * by the first's `event_count`, and so on; for `join` the sides are concatenated in order. An empty list
 * gives the partial of an empty run. Partials are validated (they usually come from JSON); a partial of
 * another operation or with other options is a `BatchInputError` naming `partials[i]`. Inputs are not mutated.
 */
export function mergeBatchPartials(options: BatchJobOptions, partials: readonly unknown[]): SerializedPartial {
  const empty = createBatchRun(options).partial();
  switch (options.operation) {
    case 'process_batch': {
      const acc = BatchSummary.deserialize(empty);
      partials.forEach((p, i) => acc.merge(checked(BatchSummary.deserialize(p, `partials[${i}]`), acc, i)));
      return acc.serialize();
    }
    case 'time_window_metrics': {
      const acc = WindowMetricsPartial.deserialize(empty);
      partials.forEach((p, i) => acc.merge(checked(WindowMetricsPartial.deserialize(p, `partials[${i}]`), acc, i)));
      return acc.serialize();
    }
    case 'detect_anomalies': {
      const stats = AnomalyPartial.create(options);
      const samples: [number, unknown][] = [];
      let n = 0;
      partials.forEach((p, i) => {
        const run = readAnomalyRun(p, `partials[${i}]`);
        stats.merge(checked(AnomalyPartial.deserialize(run.stats, `partials[${i}].stats`), stats, i));
        for (const [index, event] of run.samples) samples.push([n + index, event]);
        n += run.event_count;
      });
      return { kind: 'anomaly_run', event_count: n, samples, stats: stats.serialize() };
    }
    case 'join': {
      const left: unknown[] = [];
      const right: unknown[] = [];
      partials.forEach((p, i) => {
        const run = readJoinRun(p, `partials[${i}]`);
        for (const e of run.left) left.push(e);
        for (const e of run.right) right.push(e);
      });
      return { kind: 'join_run', left, right };
    }
  }
}

/** Same options as the accumulator they are merged into, or an error naming the partial. */
function checked<T extends { valueKey: string }>(p: T, acc: T, i: number): T {
  const keys = Object.keys(acc).filter((k) => /Key$|Ms$/.test(k)) as (keyof T)[];
  for (const k of keys) {
    if (p[k] !== acc[k]) {
      throw new BatchInputError(`partials[${i}]`, `was made with other options (${String(k)} ${describeValue(p[k])}, expected ${describeValue(acc[k])})`);
    }
  }
  return p;
}

export function readAnomalyRun(data: unknown, field: string): SerializedAnomalyRun {
  const o = readObject(data, field);
  readKind(o, 'anomaly_run', field);
  const n = o.event_count;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new BatchInputError(`${field}.event_count`, `must be a non-negative integer, got ${describeValue(n)}`);
  if (!Array.isArray(o.samples)) throw new BatchInputError(`${field}.samples`, `must be an array, got ${describeValue(o.samples)}`);
  let previous = -1;
  o.samples.forEach((s, i) => {
    const index = Array.isArray(s) && s.length === 2 ? s[0] : undefined;
    if (typeof index !== 'number' || !Number.isInteger(index) || index <= previous || index >= n) {
      throw new BatchInputError(`${field}.samples[${i}]`, `must be [index, event] with ascending integer indices below event_count, got ${describeValue(s)}`);
    }
    previous = index;
  });
  return o as unknown as SerializedAnomalyRun;
}

export function readJoinRun(data: unknown, field: string): SerializedJoinRun {
  const o = readObject(data, field);
  readKind(o, 'join_run', field);
  if (!Array.isArray(o.left)) throw new BatchInputError(`${field}.left`, `must be an array, got ${describeValue(o.left)}`);
  if (!Array.isArray(o.right)) throw new BatchInputError(`${field}.right`, `must be an array, got ${describeValue(o.right)}`);
  return o as unknown as SerializedJoinRun;
}

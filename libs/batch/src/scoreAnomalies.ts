import type { AnomalyPartial } from './AnomalyPartial';
import { BatchInputError, describeValue } from './errors';
import { extractColumns, type Columns } from './extractColumns';
import type { GroupKey } from './GroupKey';
import { positiveNumber } from './optionCheckers';

/** One flagged event. `index` is its position in the whole input (see `offset`). */
export interface Anomaly<E = unknown> {
  index: number;
  event: E;
  value: number;
  /** (value − mean) / stddev, signed, against the batch's (or the group's) population statistics. */
  z_score: number;
  /** Present only when grouping. */
  group?: GroupKey;
}

export interface ScoreOptions {
  /** Flag values with |z| strictly greater than this many standard deviations. Must be > 0. */
  thresholdStd: number;
  /** Index of `events[0]` in the whole input; added to `index` and used in error messages. Default 0. */
  offset?: number;
}

/**
 * Phase 2 of anomaly detection: flags the events of one partition against merged statistics
 * (`AnomalyPartial` after merging every partition's phase-1 partial).
 *
 * Rule: an event with a value x in group g is an anomaly iff stddev_g > 0 and |x − mean_g| / stddev_g > thresholdStd.
 * A constant series or group (stddev 0) therefore has no anomalies — no division by zero.
 * Output is sorted by index. Events without a value are never anomalies.
 */
export function scoreAnomalies<E = unknown>(events: readonly E[], stats: AnomalyPartial, options: ScoreOptions): Anomaly<E>[] {
  const thresholdStd = positiveNumber(options.thresholdStd, 'thresholdStd');
  const offset = options.offset ?? 0;
  const cols = extractColumns(events, { valueKey: stats.valueKey, groupKey: stats.groupKey ?? undefined, offset });
  return scoreColumns(cols, stats, thresholdStd, (i) => ({ index: offset + i, event: events[i] }));
}

/** Scores extracted columns; `locate(i)` gives the input index and event object of row i. */
export function scoreColumns<E>(cols: Columns, stats: AnomalyPartial, thresholdStd: number, locate: (i: number) => { index: number; event: E }): Anomaly<E>[] {
  const values = cols.values!;
  const grouped = cols.groupIds !== null;
  const nGroups = grouped ? cols.groupKeys.length : 1;
  const means = new Float64Array(nGroups);
  const stds = new Float64Array(nGroups);
  for (let g = 0; g < nGroups; g++) {
    const key = grouped ? cols.groupKeys[g] : null;
    const s = stats.statsOf(key);
    if (s === undefined) {
      throw new BatchInputError(`${stats.groupKey}`, `value ${describeValue(key)} has no statistics in the merged partial (phase 1 must record every partition)`);
    }
    means[g] = s.mean;
    stds[g] = s.stddev;
  }
  const gids = cols.groupIds;
  const out: Anomaly<E>[] = [];
  for (let i = 0; i < cols.length; i++) {
    const x = values[i];
    if (x !== x) continue;
    const g = gids === null ? 0 : gids[i];
    const sd = stds[g];
    if (sd === 0) continue;
    const z = (x - means[g]) / sd;
    if (Math.abs(z) > thresholdStd) {
      const { index, event } = locate(i);
      const a: Anomaly<E> = { index, event, value: x, z_score: z };
      if (grouped) a.group = cols.groupKeys[g];
      out.push(a);
    }
  }
  return out;
}

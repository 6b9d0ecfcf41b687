import { AnomalyPartial } from './AnomalyPartial';
import type { BatchJobOptions, SerializedPartial } from './BatchJobOptions';
import { BatchSummary } from './BatchSummary';
import { BatchInputError, describeValue } from './errors';
import { extractColumns } from './extractColumns';
import { WindowMetricsPartial } from './WindowMetricsPartial';

/**
 * One replica's share of a batch job: feed it events in chunks (e.g. one Kafka batch at a time), then
 * ship `partial()` as JSON to be combined with `mergeBatchPartials` and turned into the answer with
 * `finishBatch`. Event indices in results and errors count across all `add` calls of the run (per side
 * for joins), starting at 0.
 */
export interface BatchRun {
  /** Adds a chunk. `side` is required for `join` runs and refused for the others. Throws `BatchInputError` on a bad event, leaving the run unchanged (a rejected chunk is not half-added). Join events are stored as given and validated (key, timestamp) by `finishBatch`. */
  add(events: readonly unknown[], side?: 'left' | 'right'): void;
  /** The JSON-safe partial so far (the run can keep going afterwards). */
  partial(): SerializedPartial;
}

/** Starts a run for validated options (see `parseBatchOptions`). */
export function createBatchRun(options: BatchJobOptions): BatchRun {
  switch (options.operation) {
    case 'process_batch': {
      const summary = BatchSummary.create(options.valueKey);
      let n = 0;
      return {
        add(events, side) {
          noSide(side);
          summary.record(events, n);
          n += events.length;
        },
        partial: () => summary.serialize(),
      };
    }
    case 'time_window_metrics': {
      const windows = WindowMetricsPartial.create(options);
      let n = 0;
      return {
        add(events, side) {
          noSide(side);
          windows.record(events, n);
          n += events.length;
        },
        partial: () => windows.serialize(),
      };
    }
    case 'detect_anomalies': {
      const stats = AnomalyPartial.create(options);
      const samples: [number, unknown][] = [];
      let n = 0;
      return {
        add(events, side) {
          noSide(side);
          const cols = extractColumns(events, { valueKey: stats.valueKey, groupKey: stats.groupKey ?? undefined, offset: n });
          stats.recordColumns(cols);
          const values = cols.values!;
          for (let i = 0; i < cols.length; i++) if (values[i] === values[i]) samples.push([n + i, events[i]]);
          n += events.length;
        },
        partial: () => ({ kind: 'anomaly_run', event_count: n, samples: samples.slice(), stats: stats.serialize() }),
      };
    }
    case 'join': {
      const left: unknown[] = [];
      const right: unknown[] = [];
      return {
        add(events, side) {
          if (side !== 'left' && side !== 'right') throw new BatchInputError('side', `must be "left" or "right" for a join run, got ${describeValue(side)}`);
          const target = side === 'left' ? left : right;
          for (const e of events) target.push(e);
        },
        partial: () => ({ kind: 'join_run', left: left.slice(), right: right.slice() }),
      };
    }
  }
}

function noSide(side: unknown): void {
  if (side !== undefined) throw new BatchInputError('side', `is only accepted by join runs, got ${describeValue(side)}`);
}

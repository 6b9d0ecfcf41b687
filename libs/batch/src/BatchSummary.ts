import type { Accumulator } from '@pipeline/contracts';
import { BatchInputError, describeValue } from './errors';
import { asEvent, extractColumns } from './extractColumns';
import { compileFieldGetter } from './fieldGetter';
import { MomentsTable, type SerializedMoments } from './MomentsTable';
import { readObject, readKind } from './readSerialized';

/** The result of `processBatch`. */
export interface BatchSummaryResult {
  /** Number of events, with or without a value. */
  count: number;
  /** Number of events that carry a value; sum/mean/min/max/stddev are over these. */
  value_count: number;
  /** 0 when no event has a value. */
  sum: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  /** Population standard deviation √(Σ(x−mean)²/n); 0 for one value, null for none. */
  stddev: number | null;
  /** Events per `type` (top level, then payload); events without a string type count under `"unknown"`. Keys sorted. */
  by_type: Record<string, number>;
  /** Earliest and latest event time as ISO-8601 UTC strings, and the span in seconds; nulls and 0 for an empty batch. */
  time_span: { start: string | null; end: string | null; seconds: number };
}

export interface SerializedBatchSummary {
  kind: 'batch_summary';
  value_key: string;
  count: number;
  moments: SerializedMoments | null;
  by_type: Record<string, number>;
  /** [earliest, latest] epoch ms, or null when there are no events. */
  time: [number, number] | null;
}

const UNKNOWN_TYPE = 'unknown';
const getType = compileFieldGetter('type');

/**
 * Mergeable partial of `processBatch`: event count, value moments, counts per type and the time range.
 * Memory: O(distinct types). Every event needs a valid `timestamp`; a value absent or null is skipped
 * from the value statistics (but counted in `count`), any other non-number is an error.
 */
export class BatchSummary implements Accumulator<BatchSummaryResult, SerializedBatchSummary> {
  private count = 0;
  private readonly moments = new MomentsTable(1);
  private readonly byType = new Map<string, number>();
  private minTime = Infinity;
  private maxTime = -Infinity;

  private constructor(readonly valueKey: string) {
    this.moments.addRow();
  }

  /** @param valueKey field holding the numeric value (default `value`). */
  static create(valueKey = 'value'): BatchSummary {
    return new BatchSummary(valueKey);
  }

  /** Records a chunk of events; `offset` is the index of `events[0]` in the whole input (for error messages). */
  record(events: readonly unknown[], offset = 0): void {
    const cols = extractColumns(events, { valueKey: this.valueKey, time: true, offset });
    const values = cols.values!;
    const times = cols.times!;
    for (let i = 0; i < cols.length; i++) {
      const v = values[i];
      if (v === v) this.moments.record(0, v);
      const t = times[i];
      if (t < this.minTime) this.minTime = t;
      if (t > this.maxTime) this.maxTime = t;
      const type = getType(asEvent(events[i], 'events', offset + i));
      const key = typeof type === 'string' ? type : UNKNOWN_TYPE;
      this.byType.set(key, (this.byType.get(key) ?? 0) + 1);
    }
    this.count += cols.length;
  }

  merge(other: BatchSummary): void {
    if (other.valueKey !== this.valueKey) {
      throw new BatchInputError('value_key', `of merged partials differ: ${describeValue(this.valueKey)} and ${describeValue(other.valueKey)}`);
    }
    this.count += other.count;
    this.moments.mergeRow(0, other.moments, 0);
    for (const [type, n] of other.byType) this.byType.set(type, (this.byType.get(type) ?? 0) + n);
    if (other.minTime < this.minTime) this.minTime = other.minTime;
    if (other.maxTime > this.maxTime) this.maxTime = other.maxTime;
  }

  result(): BatchSummaryResult {
    const m = this.moments;
    const hasValues = m.count[0] > 0;
    const types = [...this.byType.keys()].sort();
    const hasEvents = this.count > 0;
    return {
      count: this.count,
      value_count: m.count[0],
      sum: hasValues ? m.totalSum(0) : 0,
      mean: hasValues ? m.meanOf(0) : null,
      min: hasValues ? m.min[0] : null,
      max: hasValues ? m.max[0] : null,
      stddev: hasValues ? m.stddev(0) : null,
      by_type: Object.fromEntries(types.map((t) => [t, this.byType.get(t)!])),
      time_span: {
        start: hasEvents ? new Date(this.minTime).toISOString() : null,
        end: hasEvents ? new Date(this.maxTime).toISOString() : null,
        seconds: hasEvents ? (this.maxTime - this.minTime) / 1000 : 0,
      },
    };
  }

  serialize(): SerializedBatchSummary {
    const types = [...this.byType.keys()].sort();
    return {
      kind: 'batch_summary',
      value_key: this.valueKey,
      count: this.count,
      moments: this.moments.count[0] > 0 ? this.moments.serializeRow(0) : null,
      by_type: Object.fromEntries(types.map((t) => [t, this.byType.get(t)!])),
      time: this.count > 0 ? [this.minTime, this.maxTime] : null,
    };
  }

  /** Rebuilds a summary from `serialize()` output (e.g. parsed from a Kafka message), validating it. */
  static deserialize(data: unknown, field = 'partial'): BatchSummary {
    const o = readObject(data, field);
    readKind(o, 'batch_summary', field);
    if (typeof o.value_key !== 'string') throw new BatchInputError(`${field}.value_key`, `must be a string, got ${describeValue(o.value_key)}`);
    const s = new BatchSummary(o.value_key);
    s.count = readCount(o.count, `${field}.count`);
    if (o.moments !== null) {
      const tmp = new MomentsTable(1);
      tmp.addSerializedRow(o.moments, `${field}.moments`);
      s.moments.mergeRow(0, tmp, 0);
    }
    const byType = readObject(o.by_type, `${field}.by_type`);
    for (const [type, n] of Object.entries(byType)) s.byType.set(type, readCount(n, `${field}.by_type.${type}`));
    if (o.time !== null) {
      const t = o.time;
      if (!Array.isArray(t) || t.length !== 2 || !t.every((x) => typeof x === 'number' && Number.isFinite(x)) || t[0] > t[1]) {
        throw new BatchInputError(`${field}.time`, `must be [earliest, latest] epoch ms or null, got ${describeValue(t)}`);
      }
      s.minTime = t[0];
      s.maxTime = t[1];
    }
    return s;
  }
}

function readCount(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new BatchInputError(field, `must be a non-negative integer, got ${describeValue(v)}`);
  return v;
}

import type { Accumulator } from '@pipeline/contracts';
import { BatchInputError, describeValue } from './errors';
import { extractColumns } from './extractColumns';
import { compareGroupKeys, toGroupKey, type GroupKey } from './GroupKey';
import { MomentsTable, type SerializedMoments } from './MomentsTable';
import { fieldName, minutesToMs, positiveNumber } from './optionCheckers';
import { readKind, readObject } from './readSerialized';

export interface TimeWindowOptions {
  /** Window length in minutes (may be fractional if it is a whole number of ms). */
  windowMinutes: number;
  /** Hop between window starts in minutes; omitted = tumbling (slide = window). Must be ≤ windowMinutes, as in Spark. */
  slideMinutes?: number;
  /** Field holding the numeric value. Default `value`. */
  valueKey?: string;
  /** Field to group by inside each window; omitted = one row per window. */
  groupKey?: string;
}

/** One output row of `timeWindowMetrics`: the window [start, end), its group when grouping, and the value statistics. */
export interface WindowMetric {
  /** Inclusive window start, ISO-8601 UTC. */
  start: string;
  /** Exclusive window end, ISO-8601 UTC. */
  end: string;
  /** Present only when `groupKey` is set; null for events without the group field. */
  group?: GroupKey;
  count: number;
  sum: number;
  mean: number;
  min: number;
  max: number;
  /** Population stddev √(Σ(x−mean)²/n); 0 for a window with one value. */
  stddev: number;
}

export interface SerializedWindowMetrics {
  kind: 'window_metrics';
  window_ms: number;
  slide_ms: number;
  value_key: string;
  group_key: string | null;
  /** One entry per non-empty (window, group): start in epoch ms, group (null when ungrouped or absent), moments row. */
  rows: { start: number; group: GroupKey; moments: SerializedMoments }[];
}

/**
 * Mergeable partial of `timeWindowMetrics`, with Spark's `window()` semantics:
 * windows are [start, start + window) with starts at every multiple of the slide since the epoch
 * (1970-01-01T00:00:00Z, no start offset); an event at time t belongs to every window with
 * start ≤ t < start + window, i.e. to ⌈window/slide⌉ windows when the slide divides the window.
 * Only windows that received a value exist — empty windows are not emitted (as in Spark).
 *
 * Worked example, window 10 min, slide 5 min, event at 00:12 → windows [00:05, 00:15) and [00:10, 00:20);
 * an event exactly at 00:10 → [00:05, 00:15) and [00:10, 00:20) too (start inclusive, end exclusive).
 *
 * Events without a value (absent or null) are skipped; non-numeric values and bad timestamps are errors.
 * Memory: one 64-byte moments row + map entry (~150 bytes) per non-empty (window, group).
 */
export class WindowMetricsPartial implements Accumulator<WindowMetric[], SerializedWindowMetrics> {
  private readonly table = new MomentsTable(64);
  private readonly rowStart: number[] = [];
  private readonly rowGroup: GroupKey[] = [];
  /** window start → (group → row). Ungrouped partials use the single group `null`. */
  private readonly index = new Map<number, Map<GroupKey, number>>();

  private constructor(
    readonly windowMs: number,
    readonly slideMs: number,
    readonly valueKey: string,
    readonly groupKey: string | null,
  ) {}

  /** Validates the options (field names as in the TS API: `windowMinutes`, …) and creates an empty partial. */
  static create(options: TimeWindowOptions): WindowMetricsPartial {
    const windowMs = minutesToMs(positiveNumber(options.windowMinutes, 'windowMinutes'), 'windowMinutes');
    let slideMs = windowMs;
    if (options.slideMinutes !== undefined) {
      slideMs = minutesToMs(positiveNumber(options.slideMinutes, 'slideMinutes'), 'slideMinutes');
      if (slideMs > windowMs) {
        throw new BatchInputError('slideMinutes', `must be less than or equal to windowMinutes (${options.windowMinutes}), got ${options.slideMinutes}`);
      }
    }
    const valueKey = fieldName(options.valueKey ?? 'value', 'valueKey');
    const groupKey = options.groupKey === undefined ? null : fieldName(options.groupKey, 'groupKey');
    return new WindowMetricsPartial(windowMs, slideMs, valueKey, groupKey);
  }

  /** Records a chunk of events; `offset` is the index of `events[0]` in the whole input (for error messages). */
  record(events: readonly unknown[], offset = 0): void {
    const cols = extractColumns(events, { valueKey: this.valueKey, groupKey: this.groupKey ?? undefined, time: true, offset });
    const values = cols.values!;
    const times = cols.times!;
    const gids = cols.groupIds;
    const keys = cols.groupKeys;
    const W = this.windowMs;
    const S = this.slideMs;
    // Per-group cache of the rows of the windows of the group's latest event: events of a group mostly
    // arrive in time order, so most events skip the map lookups even when groups interleave.
    const K = Math.ceil(W / S) + 1;
    const G = Math.max(1, keys.length);
    const cached = G * K <= 1 << 20;
    const cacheStart = new Float64Array(cached ? G : 0).fill(NaN);
    const cacheRows = new Int32Array(cached ? G * K : 0).fill(-1);
    for (let i = 0; i < cols.length; i++) {
      const x = values[i];
      if (x !== x) continue; // no value
      const t = times[i];
      const g = gids === null ? 0 : gids[i];
      let last = Math.floor(t / S) * S;
      if (last > t) last -= S;
      else if (last + S <= t) last += S;
      if (cached && cacheStart[g] !== last) {
        cacheStart[g] = last;
        cacheRows.fill(-1, g * K, g * K + K);
      }
      for (let j = 0, start = last; start > t - W; j++, start -= S) {
        let row = cached ? cacheRows[g * K + j] : -1;
        if (row < 0) {
          row = this.rowFor(start, gids === null ? null : keys[g]);
          if (cached) cacheRows[g * K + j] = row;
        }
        this.table.record(row, x);
      }
    }
  }

  merge(other: WindowMetricsPartial): void {
    this.checkCompatible(other);
    for (let r = 0; r < other.table.size; r++) {
      const row = this.rowFor(other.rowStart[r], other.rowGroup[r]);
      this.table.mergeRow(row, other.table, r);
    }
  }

  /** Windows sorted by start, then group (null, false, true, numbers, strings). */
  result(): WindowMetric[] {
    const order = Array.from({ length: this.table.size }, (_, r) => r);
    order.sort((a, b) => this.rowStart[a] - this.rowStart[b] || compareGroupKeys(this.rowGroup[a], this.rowGroup[b]));
    const t = this.table;
    return order.map((r) => {
      const out: WindowMetric = {
        start: new Date(this.rowStart[r]).toISOString(),
        end: new Date(this.rowStart[r] + this.windowMs).toISOString(),
        count: t.count[r],
        sum: t.totalSum(r),
        mean: t.meanOf(r),
        min: t.min[r],
        max: t.max[r],
        stddev: t.stddev(r),
      };
      if (this.groupKey !== null) return { start: out.start, end: out.end, group: this.rowGroup[r], ...withoutTimes(out) };
      return out;
    });
  }

  serialize(): SerializedWindowMetrics {
    const rows: SerializedWindowMetrics['rows'] = [];
    for (let r = 0; r < this.table.size; r++) rows.push({ start: this.rowStart[r], group: this.rowGroup[r], moments: this.table.serializeRow(r) });
    return { kind: 'window_metrics', window_ms: this.windowMs, slide_ms: this.slideMs, value_key: this.valueKey, group_key: this.groupKey, rows };
  }

  /** Rebuilds a partial from `serialize()` output, validating it. */
  static deserialize(data: unknown, field = 'partial'): WindowMetricsPartial {
    const o = readObject(data, field);
    readKind(o, 'window_metrics', field);
    const windowMs = o.window_ms;
    const slideMs = o.slide_ms;
    if (typeof windowMs !== 'number' || !Number.isInteger(windowMs) || windowMs <= 0) throw new BatchInputError(`${field}.window_ms`, `must be a positive integer, got ${describeValue(windowMs)}`);
    if (typeof slideMs !== 'number' || !Number.isInteger(slideMs) || slideMs <= 0 || slideMs > windowMs) throw new BatchInputError(`${field}.slide_ms`, `must be a positive integer ≤ window_ms, got ${describeValue(slideMs)}`);
    const valueKey = fieldName(o.value_key, `${field}.value_key`);
    const groupKey = o.group_key === null ? null : fieldName(o.group_key, `${field}.group_key`);
    const p = new WindowMetricsPartial(windowMs, slideMs, valueKey, groupKey);
    if (!Array.isArray(o.rows)) throw new BatchInputError(`${field}.rows`, `must be an array, got ${describeValue(o.rows)}`);
    o.rows.forEach((raw, i) => {
      const rowField = `${field}.rows[${i}]`;
      const row = readObject(raw, rowField);
      const start = row.start;
      if (typeof start !== 'number' || !Number.isInteger(start) || start % slideMs !== 0) throw new BatchInputError(`${rowField}.start`, `must be an integer multiple of slide_ms, got ${describeValue(start)}`);
      const group = toGroupKey(row.group, `${rowField}.group`);
      const r = p.rowFor(start, group);
      const tmp = new MomentsTable(1);
      tmp.addSerializedRow(row.moments, `${rowField}.moments`);
      p.table.mergeRow(r, tmp, 0);
    });
    return p;
  }

  private rowFor(start: number, group: GroupKey): number {
    let groups = this.index.get(start);
    if (groups === undefined) this.index.set(start, (groups = new Map()));
    let r = groups.get(group);
    if (r === undefined) {
      r = this.table.addRow();
      this.rowStart.push(start);
      this.rowGroup.push(group);
      groups.set(group, r);
    }
    return r;
  }

  private checkCompatible(other: WindowMetricsPartial): void {
    const mine = [this.windowMs, this.slideMs, this.valueKey, this.groupKey];
    const theirs = [other.windowMs, other.slideMs, other.valueKey, other.groupKey];
    if (mine.some((v, i) => v !== theirs[i])) {
      throw new BatchInputError('partial', `options differ between merged window partials: ${describeValue(mine)} vs ${describeValue(theirs)}`);
    }
  }
}

function withoutTimes(m: WindowMetric): Omit<WindowMetric, 'start' | 'end'> {
  return { count: m.count, sum: m.sum, mean: m.mean, min: m.min, max: m.max, stddev: m.stddev };
}

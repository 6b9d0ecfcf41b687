import type { Accumulator } from '@pipeline/contracts';
import { BatchInputError, describeValue } from './errors';
import { extractColumns, type Columns } from './extractColumns';
import { compareGroupKeys, toGroupKey, type GroupKey } from './GroupKey';
import { MomentsTable, type SerializedMoments } from './MomentsTable';
import { fieldName } from './optionCheckers';
import { readKind, readObject } from './readSerialized';

/** Population statistics of one batch or group: what z-scores are computed against. */
export interface AnomalyStats {
  mean: number;
  /** Population stddev √(Σ(x−mean)²/n). */
  stddev: number;
  /** Number of values. */
  count: number;
}

export interface GroupAnomalyStats extends AnomalyStats {
  group: GroupKey;
}

export interface AnomalyStatsOptions {
  /** Field holding the numeric value. Default `value`. */
  valueKey?: string;
  /** Field to group by: each group is scored against its own mean/stddev. */
  groupKey?: string;
}

export interface SerializedAnomalyStats {
  kind: 'anomaly_stats';
  value_key: string;
  group_key: string | null;
  groups: { group: GroupKey; moments: SerializedMoments }[];
}

/**
 * Phase 1 of distributed anomaly detection: mergeable population mean/stddev of the values, per group.
 * Each partition records its events, the partials are merged (Chan et al.), and phase 2
 * (`scoreAnomalies`) scores every partition against the merged statistics.
 * Memory: one 64-byte row per group. Events without a value are skipped; non-numeric values are errors.
 *
 * Merged statistics equal a single pass up to floating-point rounding (relative ~1e-15), so a value
 * whose |z| lies within rounding of the threshold could be classified differently; `finishBatch` on a
 * `detect_anomalies` run avoids even that by recomputing the statistics from the carried values in input order.
 */
export class AnomalyPartial implements Accumulator<GroupAnomalyStats[], SerializedAnomalyStats> {
  private readonly table = new MomentsTable(4);
  private readonly groups: GroupKey[] = [];
  private readonly rowOf = new Map<GroupKey, number>();

  private constructor(
    readonly valueKey: string,
    readonly groupKey: string | null,
  ) {
    if (groupKey === null) this.row(null);
  }

  static create(options: AnomalyStatsOptions = {}): AnomalyPartial {
    const valueKey = fieldName(options.valueKey ?? 'value', 'valueKey');
    const groupKey = options.groupKey === undefined ? null : fieldName(options.groupKey, 'groupKey');
    return new AnomalyPartial(valueKey, groupKey);
  }

  /** Records a chunk of events; `offset` is the index of `events[0]` in the whole input (for error messages). */
  record(events: readonly unknown[], offset = 0): void {
    this.recordColumns(extractColumns(events, { valueKey: this.valueKey, groupKey: this.groupKey ?? undefined, offset }));
  }

  /** Records already extracted columns (values, and group ids when grouped). */
  recordColumns(cols: Columns): void {
    const values = cols.values!;
    const gids = cols.groupIds;
    if (gids === null) {
      for (let i = 0; i < cols.length; i++) {
        const x = values[i];
        if (x === x) this.table.record(0, x);
      }
      return;
    }
    const rows = cols.groupKeys.map((g) => this.row(g));
    for (let i = 0; i < cols.length; i++) {
      const x = values[i];
      if (x === x) this.table.record(rows[gids[i]], x);
    }
  }

  merge(other: AnomalyPartial): void {
    if (other.valueKey !== this.valueKey || other.groupKey !== this.groupKey) {
      throw new BatchInputError('partial', `options differ between merged anomaly partials: ${describeValue([this.valueKey, this.groupKey])} vs ${describeValue([other.valueKey, other.groupKey])}`);
    }
    for (let r = 0; r < other.table.size; r++) this.table.mergeRow(this.row(other.groups[r]), other.table, r);
  }

  /** Statistics of group `g` (`null` when ungrouped), or undefined if no event of that group was recorded. */
  statsOf(g: GroupKey): AnomalyStats | undefined {
    const r = this.rowOf.get(g);
    if (r === undefined) return undefined;
    return { mean: this.table.count[r] === 0 ? 0 : this.table.meanOf(r), stddev: this.table.stddev(r), count: this.table.count[r] };
  }

  /**
   * One entry `{ group, mean, stddev, count }` per group with at least one value, sorted by group; the
   * same shape grouped or not (ungrouped, the one group is `null`; no values → `[]`).
   */
  result(): GroupAnomalyStats[] {
    return this.groups
      .filter((g) => this.table.count[this.rowOf.get(g)!] > 0)
      .sort(compareGroupKeys)
      .map((g) => ({ group: g, ...this.statsOf(g)! }));
  }

  serialize(): SerializedAnomalyStats {
    const groups: SerializedAnomalyStats['groups'] = [];
    for (let r = 0; r < this.table.size; r++) if (this.table.count[r] > 0) groups.push({ group: this.groups[r], moments: this.table.serializeRow(r) });
    return { kind: 'anomaly_stats', value_key: this.valueKey, group_key: this.groupKey, groups };
  }

  static deserialize(data: unknown, field = 'partial'): AnomalyPartial {
    const o = readObject(data, field);
    readKind(o, 'anomaly_stats', field);
    const p = new AnomalyPartial(fieldName(o.value_key, `${field}.value_key`), o.group_key === null ? null : fieldName(o.group_key, `${field}.group_key`));
    if (!Array.isArray(o.groups)) throw new BatchInputError(`${field}.groups`, `must be an array, got ${describeValue(o.groups)}`);
    o.groups.forEach((raw, i) => {
      const entry = readObject(raw, `${field}.groups[${i}]`);
      const g = toGroupKey(entry.group, `${field}.groups[${i}].group`);
      if (p.groupKey === null && g !== null) throw new BatchInputError(`${field}.groups[${i}].group`, `must be null for an ungrouped partial, got ${describeValue(g)}`);
      const tmp = new MomentsTable(1);
      tmp.addSerializedRow(entry.moments, `${field}.groups[${i}].moments`);
      p.table.mergeRow(p.row(g), tmp, 0);
    });
    return p;
  }

  private row(g: GroupKey): number {
    let r = this.rowOf.get(g);
    if (r === undefined) {
      r = this.table.addRow();
      this.groups.push(g);
      this.rowOf.set(g, r);
    }
    return r;
  }
}

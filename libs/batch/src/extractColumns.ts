import { BatchInputError, describeValue } from './errors';
import { compileFieldGetter } from './fieldGetter';
import { toGroupKey, type GroupKey } from './GroupKey';
import { parseTimestamp } from './parseTimestamp';

export interface ColumnSpec {
  /** Field holding the numeric value (see `compileFieldGetter` for the lookup rule). Omit to skip the column. */
  valueKey?: string;
  /** Field holding the group key. Omit to skip the column. */
  groupKey?: string;
  /** Read `timestamp` into the `times` column (epoch ms). */
  time?: boolean;
  /** Name of the event array in error messages: `events[12].value`. Default `events`. */
  label?: string;
  /** Index of `events[0]` in the whole input, for error messages when events arrive in chunks. Default 0. */
  offset?: number;
}

export interface Columns {
  length: number;
  /** Value per event; `NaN` marks an event without a value (field absent or null). */
  values: Float64Array | null;
  /** Event time per event, epoch ms. */
  times: Float64Array | null;
  /** Dense local group id per event, indexing `groupKeys`. */
  groupIds: Int32Array | null;
  groupKeys: GroupKey[];
}

/**
 * Extracts the columns an algorithm needs from event objects into typed arrays, in one pass, validating
 * as it goes. The algorithms then loop over the arrays only.
 *
 * Value rule: a value field that is absent or null means "this event has no value" (NaN in the column;
 * the algorithms skip it). Any other non-number — a numeric string "12" included, NaN, ±Infinity — is a
 * `BatchInputError`: `events[12].value must be a finite number, got "abc"`. Nothing is silently dropped.
 */
export function extractColumns(events: readonly unknown[], spec: ColumnSpec): Columns {
  const n = events.length;
  const label = spec.label ?? 'events';
  const offset = spec.offset ?? 0;
  const getValue = spec.valueKey === undefined ? null : compileFieldGetter(spec.valueKey);
  const getGroup = spec.groupKey === undefined ? null : compileFieldGetter(spec.groupKey);
  const getTime = spec.time ? compileFieldGetter('timestamp') : null;
  const values = getValue ? new Float64Array(n) : null;
  const times = getTime ? new Float64Array(n) : null;
  const groupIds = getGroup ? new Int32Array(n) : null;
  const groupKeys: GroupKey[] = [];
  const groupIndex = new Map<GroupKey, number>();
  let lastGroup: GroupKey | undefined;
  let lastGroupId = -1;
  for (let i = 0; i < n; i++) {
    const event = asEvent(events[i], label, offset + i);
    if (getValue && values) {
      const v = getValue(event);
      if (typeof v === 'number' && Number.isFinite(v)) values[i] = v;
      else if (v === undefined || v === null) values[i] = NaN;
      else throw new BatchInputError(`${label}[${offset + i}].${spec.valueKey}`, `must be a finite number, got ${describeValue(v)}`);
    }
    if (getTime && times) times[i] = parseTimestamp(getTime(event), `${label}[${offset + i}].timestamp`);
    if (getGroup && groupIds) {
      const g = toGroupKey(getGroup(event), `${label}[${offset + i}].${spec.groupKey}`);
      if (g !== lastGroup) {
        let id = groupIndex.get(g);
        if (id === undefined) {
          id = groupKeys.length;
          groupKeys.push(g);
          groupIndex.set(g, id);
        }
        lastGroup = g;
        lastGroupId = id;
      }
      groupIds[i] = lastGroupId;
    }
  }
  return { length: n, values, times, groupIds, groupKeys };
}

/** An event must be a plain JSON object (not null, not an array). */
export function asEvent(value: unknown, label: string, index: number): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new BatchInputError(`${label}[${index}]`, `must be an event object, got ${describeValue(value)}`);
  }
  return value as Record<string, unknown>;
}

import { BatchInputError, describeValue } from './errors';

/**
 * A group (or join) key as read from an event. Kept with its JSON type, so `1` and `"1"` are different
 * groups, as in Spark. `null` is the group of events whose group field is absent or null.
 */
export type GroupKey = string | number | boolean | null;

/** Validates a group field value: strings, finite numbers and booleans are keys; absent/null is `null`; anything else is an error. */
export function toGroupKey(value: unknown, field: string): GroupKey {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw new BatchInputError(field, `must be a string, a finite number or a boolean, got ${describeValue(value)}`);
}

const RANK = { object: 0, boolean: 1, number: 2, string: 3 } as const;

/** Output order of groups: null first, then false < true, then numbers ascending, then strings by UTF-16 code units. */
export function compareGroupKeys(a: GroupKey, b: GroupKey): number {
  const ra = RANK[typeof a as keyof typeof RANK];
  const rb = RANK[typeof b as keyof typeof RANK];
  if (ra !== rb) return ra - rb;
  if (a === b || a === null || b === null) return 0;
  return a < b ? -1 : 1;
}

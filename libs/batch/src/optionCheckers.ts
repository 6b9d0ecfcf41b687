import { BatchInputError, describeValue } from './errors';

/** A required, strictly positive, finite number; `field` is the option's name as the caller spelled it. */
export function positiveNumber(value: unknown, field: string): number {
  if (value === undefined || value === null) throw new BatchInputError(field, 'is required');
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new BatchInputError(field, `must be a positive finite number, got ${describeValue(value)}`);
  }
  return value;
}

/** A required, finite number ≥ 0. */
export function nonNegativeNumber(value: unknown, field: string): number {
  if (value === undefined || value === null) throw new BatchInputError(field, 'is required');
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new BatchInputError(field, `must be a non-negative finite number, got ${describeValue(value)}`);
  }
  return value;
}

/** A required field name: a non-empty string. */
export function fieldName(value: unknown, field: string): string {
  if (value === undefined || value === null) throw new BatchInputError(field, 'is required');
  if (typeof value !== 'string' || value.length === 0) throw new BatchInputError(field, `must be a non-empty field name, got ${describeValue(value)}`);
  return value;
}

/**
 * Minutes → whole milliseconds. Windows are aligned to the epoch in integer milliseconds, so a length
 * that is not a whole number of ms (e.g. 1e-7 minutes) is refused rather than rounded.
 */
export function minutesToMs(minutes: number, field: string): number {
  const ms = minutes * 60_000;
  if (!Number.isInteger(ms) || ms > 8.64e15) throw new BatchInputError(field, `must be a whole number of milliseconds when converted (minutes × 60000), got ${describeValue(minutes)}`);
  return ms;
}

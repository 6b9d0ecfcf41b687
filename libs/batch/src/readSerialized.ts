import { BatchInputError, describeValue } from './errors';

/** Reads a JSON object out of a deserialized partial, or throws naming `field`. */
export function readObject(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new BatchInputError(field, `must be an object, got ${describeValue(value)}`);
  }
  return value as Record<string, unknown>;
}

/** Checks the `kind` tag of a serialized partial. */
export function readKind(o: Record<string, unknown>, kind: string, field: string): void {
  if (o.kind !== kind) throw new BatchInputError(`${field}.kind`, `must be ${JSON.stringify(kind)}, got ${describeValue(o.kind)}`);
}

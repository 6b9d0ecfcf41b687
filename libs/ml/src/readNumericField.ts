import { MlInputError } from './errors';

/** Strict decimal literal: `12`, `-3.5`, `.5`, `1e-3`. No whitespace, hex, `Infinity`, `NaN` or units. */
const NUMERIC_STRING = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function describe(value: unknown): string {
  if (value === undefined) return 'undefined (missing)';
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/**
 * Reads `row[key]` as a finite number, or throws `MlInputError` naming `rows[index].key`.
 *
 * Numeric strings: accepted when `allowNumericStrings` (the default in `extractFeatures`) and the
 * whole string is a strict decimal literal (`"50.5"`, `"-1e3"`) — events that went through a
 * string-typed hop keep working. Anything else is rejected rather than guessed at: `""`, `" 5"`,
 * `"12ms"`, `"0x1f"`, booleans, `null`, `NaN`, `Infinity`.
 *
 *   readNumericField({ cpu: 'abc' }, 'cpu', 3, true)
 *   // throws MlInputError('rows[3].cpu must be a finite number, got "abc"', 'rows[3].cpu', 3)
 */
export function readNumericField(
  row: Record<string, unknown>,
  key: string,
  index: number,
  allowNumericStrings: boolean,
): number {
  // Own properties only: a feature named `constructor` or `__proto__` is missing from a row without it.
  const value = row == null || typeof row !== 'object' || !Object.hasOwn(row, key) ? undefined : row[key];
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (allowNumericStrings && typeof value === 'string' && NUMERIC_STRING.test(value)) {
    const parsed = Number(value);
    if (Number.isFinite(parsed)) return parsed;
  }
  const field = `rows[${index}].${key}`;
  if (row == null || typeof row !== 'object') {
    throw new MlInputError(`rows[${index}] must be an object, got ${describe(row)}`, `rows[${index}]`, index);
  }
  throw new MlInputError(`${field} must be a finite number, got ${describe(value)}`, field, index);
}

/** Strict decimal literal: `12`, `-3.5`, `.5`, `1e-3`. No whitespace, hex, `Infinity`, `NaN` or units. */
const NUMERIC_STRING = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * The one rule for a numeric field of a row or event (training features and targets, inline or read
 * from a topic): a finite number, or — when `allowNumericStrings` — a whole strict decimal string
 * (`"50.5"`, `"-1e3"`), so events that went through a string-typed hop keep working. Anything else
 * is `undefined` rather than guessed at: `""`, `" 5"`, `"12ms"`, `"0x1f"`, booleans, `null`, `NaN`,
 * `Infinity`. Own properties only: a field named `constructor` or `__proto__` is missing from a row
 * without it.
 */
export function readNumericCell(row: unknown, key: string, allowNumericStrings = true): number | undefined {
  if (row === null || typeof row !== 'object' || !Object.hasOwn(row, key)) return undefined;
  const value = (row as Record<string, unknown>)[key];
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (allowNumericStrings && typeof value === 'string' && NUMERIC_STRING.test(value)) {
    const parsed = Number(value);
    if (Number.isFinite(parsed)) return parsed;
  }
  return undefined;
}

/** How a value that is not a usable number is quoted in an error message. */
export function describeNonNumeric(value: unknown): string {
  if (value === undefined) return 'undefined (missing)';
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

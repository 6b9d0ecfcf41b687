import { MlInputError } from './errors';

/** Throws `MlInputError` unless `value` is an integer in [min, max]: `params.maxDepth must be an integer in [1, 64], got 0`. */
export function checkInteger(value: unknown, field: string, min: number, max: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new MlInputError(`${field} must be an integer ${range}, got ${JSON.stringify(value) ?? String(value)}`, field);
  }
}

/** Throws unless `value` is a finite number in (min, max] (`minInclusive` false) or [min, max]. */
export function checkNumber(value: unknown, field: string, min: number, max: number, minInclusive: boolean): asserts value is number {
  const ok = typeof value === 'number' && Number.isFinite(value) && (minInclusive ? value >= min : value > min) && value <= max;
  if (!ok) {
    throw new MlInputError(`${field} must be a number in ${minInclusive ? '[' : '('}${min}, ${max}], got ${JSON.stringify(value) ?? String(value)}`, field);
  }
}

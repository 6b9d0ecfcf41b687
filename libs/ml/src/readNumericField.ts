import { describeNonNumeric, readNumericCell } from '@pipeline/contracts';
import { MlInputError } from './errors';

/**
 * Reads `row[key]` as a finite number (the contract's `readNumericCell` rule: numbers, and strict
 * decimal strings when `allowNumericStrings`), or throws `MlInputError` naming `rows[index].key`.
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
  const n = readNumericCell(row, key, allowNumericStrings);
  if (n !== undefined) return n;
  if (row == null || typeof row !== 'object') {
    throw new MlInputError(`rows[${index}] must be an object, got ${describeNonNumeric(row)}`, `rows[${index}]`, index);
  }
  const field = `rows[${index}].${key}`;
  throw new MlInputError(`${field} must be a finite number, got ${describeNonNumeric(Object.hasOwn(row, key) ? row[key] : undefined)}`, field, index);
}

import { MlInputError } from './errors';
import { readNumericField } from './readNumericField';
import type { ExtractOptions } from './extractFeatures';

/**
 * Reads the regression target `key` of every row, with the same rules and messages as
 * `extractFeatures` (`rows[7].latency must be a finite number, got null`).
 */
export function extractTarget(
  rows: readonly Record<string, unknown>[],
  key: string,
  options: ExtractOptions = {},
): Float64Array {
  if (!Array.isArray(rows) || rows.length === 0) throw new MlInputError('rows must be a non-empty array', 'rows');
  if (typeof key !== 'string' || key.length === 0) throw new MlInputError('targetKey must be a non-empty string', 'targetKey');
  const allow = options.allowNumericStrings ?? true;
  const y = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) y[i] = readNumericField(rows[i]!, key, i, allow);
  return y;
}

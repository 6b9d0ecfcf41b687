import { MlInputError } from './errors';
import type { FeatureMatrix } from './FeatureMatrix';
import { validateFeatureKeys } from './validateFeatureKeys';
import { readNumericField } from './readNumericField';

export interface ExtractOptions {
  /** Accept strict decimal strings such as `"50.5"` (default true). See `readNumericField`. */
  allowNumericStrings?: boolean;
}

/**
 * Turns event rows into a row-major feature matrix, column `j` being `featureKeys[j]`.
 * Fails on the first bad cell with an indexed message, e.g.
 * `rows[3].cpu must be a finite number, got "abc"` (field `rows[3].cpu`, index 3).
 *
 *   extractFeatures([{ cpu: 50, mem: 60 }, { cpu: '55', mem: 65 }], ['cpu', 'mem'])
 *   // → { data: Float64Array [50, 60, 55, 65], nRows: 2, nCols: 2 }
 */
export function extractFeatures(
  rows: readonly Record<string, unknown>[],
  featureKeys: readonly string[],
  options: ExtractOptions = {},
): FeatureMatrix {
  if (!Array.isArray(rows) || rows.length === 0) throw new MlInputError('rows must be a non-empty array', 'rows');
  validateFeatureKeys(featureKeys);
  const allow = options.allowNumericStrings ?? true;
  const nRows = rows.length;
  const nCols = featureKeys.length;
  const data = new Float64Array(nRows * nCols);
  for (let i = 0; i < nRows; i++) {
    const row = rows[i]!;
    for (let j = 0; j < nCols; j++) data[i * nCols + j] = readNumericField(row, featureKeys[j]!, i, allow);
  }
  return { data, nRows, nCols };
}

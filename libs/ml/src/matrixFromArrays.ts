import { MlInputError } from './errors';
import type { FeatureMatrix } from './FeatureMatrix';

/**
 * Copies `number[][]` (one inner array per row) into a row-major matrix, checking that it is
 * non-empty, rectangular and finite: `features[4] has 2 values, expected 3`,
 * `features[2][0] must be a finite number, got NaN`.
 */
export function matrixFromArrays(features: readonly (readonly number[])[], field = 'features'): FeatureMatrix {
  if (!Array.isArray(features) || features.length === 0) throw new MlInputError(`${field} must be a non-empty array of rows`, field);
  const first = features[0];
  if (!Array.isArray(first) || first.length === 0) throw new MlInputError(`${field}[0] must be a non-empty array of numbers`, `${field}[0]`, 0);
  const nRows = features.length;
  const nCols = first.length;
  const data = new Float64Array(nRows * nCols);
  for (let i = 0; i < nRows; i++) {
    const row = features[i];
    if (!Array.isArray(row) || row.length !== nCols) {
      throw new MlInputError(`${field}[${i}] has ${Array.isArray(row) ? row.length : 'no'} values, expected ${nCols}`, `${field}[${i}]`, i);
    }
    for (let j = 0; j < nCols; j++) {
      const v = row[j];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new MlInputError(`${field}[${i}][${j}] must be a finite number, got ${typeof v === 'number' ? String(v) : JSON.stringify(v) ?? 'undefined'}`, `${field}[${i}][${j}]`, i);
      }
      data[i * nCols + j] = v;
    }
  }
  return { data, nRows, nCols };
}

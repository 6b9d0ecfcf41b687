import type { PredictRequest } from '@pipeline/proto';
import { InvalidArgumentError } from '@pipeline/contracts';
import type { ServableModel } from './ModelCatalog';

/**
 * Validates an ml.v1 PredictRequest against `model` and copies its rows into one Float64Array.
 * Rules (each violation is INVALID_ARGUMENT naming the field):
 * - `values` is non-empty; `n_features` equals the model's feature count;
 * - `values.length` is a multiple of `n_features`;
 * - every value is finite. Example: n_features 3, values [1,2,3, 4,NaN,6] →
 *   `values[4] (row 1, feature "x1") must be a finite number, got NaN`.
 */
export function readPredictRows(request: PredictRequest, model: ServableModel): { x: Float64Array; nRows: number } {
  const { values, nFeatures } = request;
  const expected = model.featureKeys.length;
  if (values.length === 0) throw new InvalidArgumentError('values must hold at least one row, got 0 values');
  if (nFeatures !== expected) {
    throw new InvalidArgumentError(
      `n_features must be ${expected} (the feature count of model "${model.name}" version ${model.version}), got ${nFeatures}`,
    );
  }
  if (values.length % nFeatures !== 0) {
    throw new InvalidArgumentError(`values length must be a multiple of n_features (${nFeatures}), got ${values.length}`);
  }
  const x = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) throw nonFinite(`values[${i}]`, i, nFeatures, model, v);
    x[i] = v;
  }
  return { x, nRows: values.length / nFeatures };
}

/** INVALID_ARGUMENT for a NaN/Infinity at flat index `i`, naming the field, row and feature. */
export function nonFinite(field: string, i: number, nFeatures: number, model: ServableModel, v: number): InvalidArgumentError {
  const row = Math.floor(i / nFeatures);
  const feature = model.featureKeys[i % nFeatures];
  return new InvalidArgumentError(`${field} (row ${row}, feature "${feature}") must be a finite number, got ${v}`);
}

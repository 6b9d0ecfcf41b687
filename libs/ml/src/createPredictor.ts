import { MlInputError } from './errors';
import type { TrainedModel } from './TrainedModel';

export interface Predictor {
  /**
   * Predicts `nRows` rows of a row-major matrix with columns in `model.featureKeys` order.
   * Regressors → predicted target; kmeans → cluster index; isolation_forest → anomaly score
   * (higher = more anomalous; compare with `model.metrics.threshold`).
   */
  predict(x: Float64Array, nRows: number): Float64Array;
  /** One row, same meaning as `predict`. Allocates nothing. */
  predictRow(row: ArrayLike<number>): number;
}

/**
 * Binds a trained (or decoded) model to a fast prediction function, applying the stored scaler.
 * Inputs are checked: wrong length or a non-finite value throws `MlInputError`
 * (`row[2] must be a finite number, got NaN`).
 */
export function createPredictor(model: TrainedModel): Predictor {
  const p = model.featureKeys.length;
  const scaler = model.scaler;
  const f = model.fitted;
  const rowFn: (row: ArrayLike<number>, offset: number) => number =
    f.type === 'random_forest'
      ? (r, o) => f.forest.predictRow(r, o)
      : f.type === 'linear_regression'
        ? (r, o) => f.regression.predictRow(r, o)
        : f.type === 'kmeans'
          ? (r, o) => f.kmeans.predictRow(r, o)
          : (r, o) => f.forest.scoreRow(r, o);
  const scratch = new Float64Array(p);
  return {
    predictRow(row: ArrayLike<number>): number {
      if (row.length !== p) throw new MlInputError(`row has ${row.length} values, expected ${p} (${model.featureKeys.join(', ')})`, 'row');
      for (let j = 0; j < p; j++) {
        if (!Number.isFinite(row[j])) throw new MlInputError(`row[${j}] (${model.featureKeys[j]}) must be a finite number, got ${row[j]}`, `row[${j}]`, j);
      }
      if (!scaler) return rowFn(row, 0);
      scaler.transformInto(row, scratch, 1);
      return rowFn(scratch, 0);
    },
    predict(x: Float64Array, nRows: number): Float64Array {
      if (!Number.isInteger(nRows) || nRows < 0 || x.length !== nRows * p) {
        throw new MlInputError(`x has ${x.length} values, expected nRows × ${p} = ${nRows * p}`, 'x');
      }
      for (let i = 0; i < x.length; i++) {
        if (!Number.isFinite(x[i])) {
          const r = Math.floor(i / p);
          throw new MlInputError(`x row ${r} column ${i % p} (${model.featureKeys[i % p]}) must be a finite number, got ${x[i]}`, `x[${r}]`, r);
        }
      }
      let data = x;
      if (scaler) {
        data = new Float64Array(x.length);
        scaler.transformInto(x, data, nRows);
      }
      const out = new Float64Array(nRows);
      for (let i = 0; i < nRows; i++) out[i] = rowFn(data, i * p);
      return out;
    },
  };
}

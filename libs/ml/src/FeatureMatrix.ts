/**
 * A dense row-major matrix of features: value of row `i`, column `j` is `data[i * nCols + j]`.
 * Every algorithm in this library takes and returns this shape (no nested arrays on hot paths).
 */
export interface FeatureMatrix {
  data: Float64Array;
  nRows: number;
  nCols: number;
}

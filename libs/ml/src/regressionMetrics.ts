import { MlInputError } from './errors';

function check(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  if (yTrue.length !== yPred.length) {
    throw new MlInputError(`yPred has ${yPred.length} values, yTrue has ${yTrue.length}`, 'yPred');
  }
  if (yTrue.length === 0) throw new MlInputError('metrics need at least one value', 'yTrue');
  return yTrue.length;
}

/**
 * Coefficient of determination `1 - SS_res / SS_tot`, as scikit-learn's `r2_score`: 1 is perfect,
 * 0 is "as good as predicting the mean", negative is worse. A constant `yTrue` gives 1 when the
 * prediction is exact and 0 otherwise (sklearn's convention).
 */
export function r2Score(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = check(yTrue, yPred);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += yTrue[i]!;
  mean /= n;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < n; i++) {
    const r = yTrue[i]! - yPred[i]!;
    const d = yTrue[i]! - mean;
    ssRes += r * r;
    ssTot += d * d;
  }
  if (ssTot === 0) return ssRes === 0 ? 1 : 0;
  return 1 - ssRes / ssTot;
}

/** Mean absolute error, in the target's units. */
export function meanAbsoluteError(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = check(yTrue, yPred);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.abs(yTrue[i]! - yPred[i]!);
  return s / n;
}

/** Root mean squared error, in the target's units. */
export function rootMeanSquaredError(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = check(yTrue, yPred);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const r = yTrue[i]! - yPred[i]!;
    s += r * r;
  }
  return Math.sqrt(s / n);
}

import { MlInputError } from './errors';
import type { FeatureMatrix } from './FeatureMatrix';
import { Rng } from './Rng';

export interface SplitOptions {
  /** Fraction of rows held out for testing, in [0, 1). Default 0.2. The test set gets `ceil(n·f)` rows (as scikit-learn). */
  testFraction?: number;
  /** Shuffle seed (default 0). Same seed and row count → same split. */
  seed?: number;
}

export interface Split {
  xTrain: FeatureMatrix;
  xTest: FeatureMatrix;
  yTrain?: Float64Array;
  yTest?: Float64Array;
  /** Original row indices of each part, in the order they appear in the part. */
  trainIndex: Int32Array;
  testIndex: Int32Array;
}

/** Gathers the given rows of a row-major matrix into a new one. */
export function takeRows(x: FeatureMatrix, index: Int32Array): FeatureMatrix {
  const p = x.nCols;
  const data = new Float64Array(index.length * p);
  for (let i = 0; i < index.length; i++) data.set(x.data.subarray(index[i]! * p, index[i]! * p + p), i * p);
  return { data, nRows: index.length, nCols: p };
}

/**
 * Seeded shuffle-and-split (Fisher–Yates). With `testFraction` 0.2 and 10 rows: 8 train, 2 test.
 * Keeps at least one training row; a fraction that would leave none throws `MlInputError`.
 */
export function trainTestSplit(x: FeatureMatrix, y: Float64Array | undefined, options: SplitOptions = {}): Split {
  const testFraction = options.testFraction ?? 0.2;
  if (!(testFraction >= 0 && testFraction < 1)) {
    throw new MlInputError(`testFraction must be in [0, 1), got ${testFraction}`, 'params.testFraction');
  }
  if (y && y.length !== x.nRows) throw new MlInputError(`target has ${y.length} values for ${x.nRows} rows`, 'targetKey');
  const n = x.nRows;
  const nTest = Math.ceil(n * testFraction);
  if (n - nTest < 1) throw new MlInputError(`testFraction ${testFraction} leaves no training rows out of ${n}`, 'params.testFraction');
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const rng = new Rng(options.seed ?? 0);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const testIndex = order.slice(0, nTest);
  const trainIndex = order.slice(nTest);
  const gather = (v: Float64Array, idx: Int32Array): Float64Array => {
    const out = new Float64Array(idx.length);
    for (let i = 0; i < idx.length; i++) out[i] = v[idx[i]!]!;
    return out;
  };
  return {
    xTrain: takeRows(x, trainIndex),
    xTest: takeRows(x, testIndex),
    yTrain: y ? gather(y, trainIndex) : undefined,
    yTest: y ? gather(y, testIndex) : undefined,
    trainIndex,
    testIndex,
  };
}

import { meanAbsoluteError, r2Score, rootMeanSquaredError } from './regressionMetrics';
import { rocAucScore } from './rocAucScore';
import { trainTestSplit } from './trainTestSplit';

describe('regression metrics', () => {
  it('match hand-computed values', () => {
    const y = [3, -0.5, 2, 7];
    const p = [2.5, 0, 2, 8];
    // scikit-learn documentation example: r2 0.948..., mae 0.5, mse 0.375
    expect(r2Score(y, p)).toBeCloseTo(0.9486081370449679, 14);
    expect(meanAbsoluteError(y, p)).toBe(0.5);
    expect(rootMeanSquaredError(y, p)).toBeCloseTo(Math.sqrt(0.375), 15);
  });

  it('r2 of a constant target is 1 when exact and 0 otherwise; length mismatch throws', () => {
    expect(r2Score([2, 2], [2, 2])).toBe(1);
    expect(r2Score([2, 2], [2, 3])).toBe(0);
    expect(() => r2Score([1, 2], [1])).toThrow('yPred has 1 values, yTrue has 2');
  });
});

describe('rocAucScore', () => {
  it('is 1 for a perfect ranking, 0.5 with all ties, and averages ties like scikit-learn', () => {
    expect(rocAucScore([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])).toBe(1);
    expect(rocAucScore([0, 1, 0, 1], [1, 1, 1, 1])).toBe(0.5);
    // sklearn roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    expect(rocAucScore([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBe(0.75);
  });
});

describe('trainTestSplit', () => {
  const x = { data: Float64Array.from({ length: 20 }, (_, i) => i), nRows: 10, nCols: 2 };
  const y = Float64Array.from({ length: 10 }, (_, i) => i * 10);

  it('holds out ceil(n·f) rows, keeps rows and targets aligned, and partitions the indices', () => {
    const s = trainTestSplit(x, y, { testFraction: 0.25, seed: 3 });
    expect([s.xTrain.nRows, s.xTest.nRows]).toEqual([7, 3]);
    expect([...s.trainIndex, ...s.testIndex].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    s.testIndex.forEach((row, i) => {
      expect([s.xTest.data[i * 2], s.xTest.data[i * 2 + 1], s.yTest![i]]).toEqual([row * 2, row * 2 + 1, row * 10]);
    });
  });

  it('is deterministic under a seed and differs across seeds', () => {
    expect(trainTestSplit(x, y, { seed: 1 }).testIndex).toEqual(trainTestSplit(x, y, { seed: 1 }).testIndex);
    expect(trainTestSplit(x, y, { seed: 1 }).testIndex).not.toEqual(trainTestSplit(x, y, { seed: 2 }).testIndex);
  });

  it('rejects a fraction outside [0, 1)', () => {
    expect(() => trainTestSplit(x, y, { testFraction: 1 })).toThrow('testFraction must be in [0, 1), got 1');
  });
});

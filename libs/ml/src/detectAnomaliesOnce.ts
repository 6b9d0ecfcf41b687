import { MlInputError } from './errors';
import { IsolationForest } from './IsolationForest';
import { matrixFromArrays } from './matrixFromArrays';

export interface AnomalyResult {
  /** 1 = normal, −1 = anomaly; the `contamination` share of rows with the highest scores get −1. */
  labels: (1 | -1)[];
  /** Isolation Forest scores in (0, 1], higher = more anomalous (scikit-learn's `score_samples` is −score). */
  scores: number[];
}

/** The report's ad-hoc `detect_anomalies_ml(X, contamination)`: fit an Isolation Forest and label the same rows. */
export function detectAnomaliesOnce(features: number[][], contamination: number, seed = 0): AnomalyResult {
  const x = matrixFromArrays(features);
  if (typeof contamination !== 'number' || !(contamination > 0 && contamination <= 0.5)) {
    throw new MlInputError(`contamination must be in (0, 0.5], got ${contamination}`, 'contamination');
  }
  const forest = IsolationForest.fit(x, { contamination, seed });
  const scores = Array.from(forest.trainScores);
  return { labels: scores.map((s) => forest.labelOf(s)), scores };
}

import type { IsolationForest } from './IsolationForest';
import type { KMeans } from './KMeans';
import type { LinearRegression } from './LinearRegression';
import type { RandomForestRegressor } from './RandomForestRegressor';
import type { StandardScaler } from './StandardScaler';

export type ModelType = 'random_forest' | 'linear_regression' | 'kmeans' | 'isolation_forest';

/** Version of the binary model format written by `encodeModel` (and of `TrainedModel.formatVersion`). */
export const MODEL_FORMAT_VERSION = 1;

export interface TrainRequest {
  modelName: string;
  modelType: ModelType;
  /** Column order of the model; `createPredictor` expects rows in this order. */
  featureKeys: string[];
  /** Required for `random_forest` and `linear_regression`. */
  targetKey?: string;
  rows: Record<string, unknown>[];
  /**
   * Hyper-parameters, validated per model type (unknown keys are rejected):
   *  - all: `seed` (uint32, default 0), `testFraction` ([0, 1); default 0.2 for regressors, 0 otherwise),
   *    `scale` (boolean; default true for linear_regression and kmeans, false for the tree models);
   *  - random_forest: `nEstimators` 100, `maxDepth` 10, `minSamplesLeaf` 1, `minSamplesSplit` 2,
   *    `maxFeatures` 1 (fraction), `bootstrap` true, `maxBins` 256;
   *  - kmeans: `nClusters` (required), `maxIter` 300, `tol` 1e-4;
   *  - isolation_forest: `nEstimators` 100, `maxSamples` 256, `contamination` 0.1.
   */
  params?: Record<string, unknown>;
  version: number;
  /** ISO-8601 time of the training job, recorded in provenance (the library never reads the clock). */
  trainedAt: string;
  /** Free-form, JSON-serializable description of the data (topic, offsets, time range...). */
  source?: unknown;
}

export interface Provenance {
  trainedAt: string;
  rows: number;
  trainRows: number;
  testRows: number;
  /** Wall time of `trainModel` as measured by the injected clock (0 when none was given). */
  durationMs: number;
  seed: number;
  source?: unknown;
}

/** The fitted algorithm inside a model. */
export type FittedState =
  | { type: 'random_forest'; forest: RandomForestRegressor }
  | { type: 'linear_regression'; regression: LinearRegression }
  | { type: 'kmeans'; kmeans: KMeans }
  | { type: 'isolation_forest'; forest: IsolationForest };

export interface TrainedModel {
  formatVersion: number;
  name: string;
  version: number;
  type: ModelType;
  featureKeys: string[];
  targetKey?: string;
  /**
   * Regressors: `r2`, `mae`, `rmse` on held-out rows (absent with testFraction 0) and `trainR2`.
   * kmeans: `inertia`, `iterations`. isolation_forest: `threshold` (score cut-off), `anomalyFraction`.
   */
  metrics: Record<string, number>;
  /** random_forest only: impurity-based importance per feature key, summing to 1. */
  featureImportances?: Record<string, number>;
  /** Effective hyper-parameters, defaults filled in. */
  params: Record<string, unknown>;
  provenance: Provenance;
  /** Standardization applied to inputs before the algorithm (null when `scale` is false). */
  scaler: StandardScaler | null;
  fitted: FittedState;
}

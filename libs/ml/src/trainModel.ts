import { MlInputError } from './errors';
import { extractFeatures } from './extractFeatures';
import { extractTarget } from './extractTarget';
import { IsolationForest } from './IsolationForest';
import { KMeans } from './KMeans';
import { LinearRegression } from './LinearRegression';
import { RandomForestRegressor } from './RandomForestRegressor';
import { StandardScaler } from './StandardScaler';
import type { FittedState, ModelType, TrainRequest, TrainedModel } from './TrainedModel';
import { MODEL_FORMAT_VERSION } from './TrainedModel';
import { checkInteger, checkNumber } from './checkParam';
import { meanAbsoluteError, r2Score, rootMeanSquaredError } from './regressionMetrics';
import { trainTestSplit } from './trainTestSplit';

export interface TrainOptions {
  /**
   * Monotonic clock in milliseconds (e.g. `performance.now`) used only to fill
   * `provenance.durationMs`. The library never reads a clock itself; without one durationMs is 0.
   */
  nowMs?: () => number;
}

const MODEL_TYPES: readonly ModelType[] = ['random_forest', 'linear_regression', 'kmeans', 'isolation_forest'];
const COMMON_PARAMS = ['seed', 'testFraction', 'scale'];
const TYPE_PARAMS: Record<ModelType, string[]> = {
  random_forest: ['nEstimators', 'maxDepth', 'minSamplesLeaf', 'minSamplesSplit', 'maxFeatures', 'bootstrap', 'maxBins'],
  linear_regression: [],
  kmeans: ['nClusters', 'maxIter', 'tol'],
  isolation_forest: ['nEstimators', 'maxSamples', 'contamination'],
};
const DEFAULTS: Record<ModelType, Record<string, unknown>> = {
  random_forest: { seed: 0, testFraction: 0.2, scale: false, nEstimators: 100, maxDepth: 10, minSamplesLeaf: 1, minSamplesSplit: 2, maxFeatures: 1, bootstrap: true, maxBins: 256 },
  linear_regression: { seed: 0, testFraction: 0.2, scale: true },
  kmeans: { seed: 0, testFraction: 0, scale: true, maxIter: 300, tol: 1e-4 },
  isolation_forest: { seed: 0, testFraction: 0, scale: false, nEstimators: 100, maxSamples: 256, contamination: 0.1 },
};
const isRegressor = (t: ModelType): boolean => t === 'random_forest' || t === 'linear_regression';

/**
 * Validates a training request, extracts features (and target), splits off a seeded held-out set,
 * fits the scaler on the training part, trains, and measures: the one call the ml-trainer makes.
 * Pure and synchronous — run it in a worker thread for large jobs. `onProgress` receives
 * fractions in (0, 1] as trees / iterations complete.
 *
 *   const model = trainModel({ modelName: 'latency', modelType: 'random_forest',
 *     featureKeys: ['cpu', 'memory'], targetKey: 'latency', rows, version: 3,
 *     trainedAt: '2026-11-27T10:00:00Z', params: { nEstimators: 50, seed: 7 } });
 *   model.metrics // { r2: 0.91, mae: 1.2, rmse: 1.6, trainR2: 0.95 }
 *
 * Every invalid input throws `MlInputError` whose `field` names it (`modelType`, `targetKey`,
 * `rows[12].cpu`, `params.nClusters`, ...).
 */
export function trainModel(req: TrainRequest, onProgress?: (fraction: number) => void, options: TrainOptions = {}): TrainedModel {
  const started = options.nowMs?.();
  if (typeof req !== 'object' || req === null) throw new MlInputError('request must be an object', 'request');
  if (typeof req.modelName !== 'string' || req.modelName.trim() === '') {
    throw new MlInputError('modelName must be a non-empty string', 'modelName');
  }
  if (!MODEL_TYPES.includes(req.modelType)) {
    throw new MlInputError(`modelType must be one of ${MODEL_TYPES.join(', ')}, got ${JSON.stringify(req.modelType)}`, 'modelType');
  }
  const type = req.modelType;
  checkInteger(req.version, 'version', 0, Number.MAX_SAFE_INTEGER);
  if (typeof req.trainedAt !== 'string' || Number.isNaN(Date.parse(req.trainedAt))) {
    throw new MlInputError(`trainedAt must be an ISO-8601 date-time, got ${JSON.stringify(req.trainedAt)}`, 'trainedAt');
  }
  if (req.source !== undefined) {
    try {
      JSON.stringify(req.source);
    } catch {
      throw new MlInputError('source must be JSON-serializable', 'source');
    }
  }
  if (isRegressor(type) && (typeof req.targetKey !== 'string' || req.targetKey === '')) {
    throw new MlInputError(`targetKey is required for ${type}`, 'targetKey');
  }
  if (isRegressor(type) && req.featureKeys?.includes?.(req.targetKey!)) {
    throw new MlInputError(`targetKey "${req.targetKey}" must not also be a feature key`, 'targetKey');
  }
  const params = resolveParams(type, req.params);

  const x = extractFeatures(req.rows, req.featureKeys);
  const y = isRegressor(type) ? extractTarget(req.rows, req.targetKey!) : undefined;
  const seed = params.seed as number;
  const split = trainTestSplit(x, y, { testFraction: params.testFraction as number, seed });
  let xTrain = split.xTrain;
  let xTest = split.xTest;
  const scaler = params.scale ? StandardScaler.fit(xTrain) : null;
  if (scaler) {
    xTrain = scaler.transform(xTrain);
    xTest = scaler.transform(xTest);
  }

  const metrics: Record<string, number> = {};
  let featureImportances: Record<string, number> | undefined;
  let fitted: FittedState;
  const regressionMetrics = (predict: (x: Float64Array, n: number) => Float64Array): void => {
    if (xTest.nRows > 0) {
      const pred = predict(xTest.data, xTest.nRows);
      metrics.r2 = r2Score(split.yTest!, pred);
      metrics.mae = meanAbsoluteError(split.yTest!, pred);
      metrics.rmse = rootMeanSquaredError(split.yTest!, pred);
    }
    metrics.trainR2 = r2Score(split.yTrain!, predict(xTrain.data, xTrain.nRows));
  };
  switch (type) {
    case 'random_forest': {
      const forest = RandomForestRegressor.fit(xTrain, split.yTrain!, params as never, onProgress);
      regressionMetrics((d, n) => forest.predict(d, n));
      featureImportances = Object.fromEntries(req.featureKeys.map((k, j) => [k, forest.featureImportances[j]!]));
      fitted = { type, forest };
      break;
    }
    case 'linear_regression': {
      const regression = LinearRegression.fit(xTrain, split.yTrain!);
      onProgress?.(1);
      regressionMetrics((d, n) => regression.predict(d, n));
      fitted = { type, regression };
      break;
    }
    case 'kmeans': {
      if ((params.nClusters as number) > xTrain.nRows) {
        throw new MlInputError(`params.nClusters must be <= the ${xTrain.nRows} training rows, got ${params.nClusters}`, 'params.nClusters');
      }
      const kmeans = KMeans.fit(xTrain, { nClusters: params.nClusters as number, maxIter: params.maxIter as number, tol: params.tol as number, seed }, onProgress);
      metrics.inertia = kmeans.inertia;
      metrics.iterations = kmeans.iterations;
      fitted = { type, kmeans };
      break;
    }
    case 'isolation_forest': {
      const forest = IsolationForest.fit(xTrain, params as never, onProgress);
      let anomalies = 0;
      for (const s of forest.trainScores) if (s > forest.scoreThreshold) anomalies++;
      metrics.threshold = forest.scoreThreshold;
      metrics.anomalyFraction = anomalies / xTrain.nRows;
      fitted = { type, forest };
      break;
    }
  }
  const finished = options.nowMs?.();
  return {
    formatVersion: MODEL_FORMAT_VERSION,
    name: req.modelName,
    version: req.version,
    type,
    featureKeys: [...req.featureKeys],
    ...(isRegressor(type) ? { targetKey: req.targetKey } : {}),
    metrics,
    ...(featureImportances ? { featureImportances } : {}),
    params,
    provenance: {
      trainedAt: req.trainedAt,
      rows: x.nRows,
      trainRows: xTrain.nRows,
      testRows: xTest.nRows,
      durationMs: started !== undefined && finished !== undefined ? finished - started : 0,
      seed,
      ...(req.source !== undefined ? { source: req.source } : {}),
    },
    scaler,
    fitted,
  };
}

/** Fills defaults and validates every parameter of `type`; unknown keys are errors (catches `n_estimators`). */
function resolveParams(type: ModelType, given: Record<string, unknown> | undefined): Record<string, unknown> {
  if (given !== undefined && (typeof given !== 'object' || given === null || Array.isArray(given))) {
    throw new MlInputError('params must be an object', 'params');
  }
  const allowed = new Set([...COMMON_PARAMS, ...TYPE_PARAMS[type]]);
  for (const key of Object.keys(given ?? {})) {
    if (!allowed.has(key)) {
      throw new MlInputError(`params.${key} is not a parameter of ${type} (allowed: ${[...allowed].join(', ')})`, `params.${key}`);
    }
  }
  const p: Record<string, unknown> = { ...DEFAULTS[type] };
  for (const [k, v] of Object.entries(given ?? {})) if (v !== undefined) p[k] = v;
  checkInteger(p.seed, 'params.seed', 0, 0xffffffff);
  checkNumber(p.testFraction, 'params.testFraction', 0, 0.9, true);
  if (typeof p.scale !== 'boolean') throw new MlInputError(`params.scale must be a boolean, got ${JSON.stringify(p.scale)}`, 'params.scale');
  switch (type) {
    case 'random_forest':
      RandomForestRegressor.checkOptions(p);
      break;
    case 'kmeans':
      if (p.nClusters === undefined) throw new MlInputError('params.nClusters is required for kmeans', 'params.nClusters');
      checkInteger(p.nClusters, 'params.nClusters', 1, Number.MAX_SAFE_INTEGER);
      checkInteger(p.maxIter, 'params.maxIter', 1, 100_000);
      checkNumber(p.tol, 'params.tol', 0, Number.MAX_VALUE, true);
      break;
    case 'isolation_forest':
      IsolationForest.checkOptions(p);
      break;
    case 'linear_regression':
      break;
  }
  return p;
}

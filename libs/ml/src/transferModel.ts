import { IsolationForest, type IsolationForestState } from './IsolationForest';
import { KMeans } from './KMeans';
import { LinearRegression } from './LinearRegression';
import { RandomForestRegressor, type RandomForestState } from './RandomForestRegressor';
import { StandardScaler } from './StandardScaler';
import type { FittedState, TrainedModel } from './TrainedModel';

/** The fitted algorithm of a `TransferableModel`: typed arrays and numbers only. */
export type TransferableFitted =
  | { type: 'random_forest'; forest: RandomForestState }
  | { type: 'linear_regression'; coefficients: Float64Array; intercept: number; rank: number; trainR2: number }
  | { type: 'kmeans'; centers: Float64Array; nClusters: number; inertia: number; iterations: number }
  | { type: 'isolation_forest'; forest: IsolationForestState };

/**
 * A `TrainedModel` as plain data (no class instances), so it survives `postMessage` /
 * `structuredClone`: everything the model computed when it was decoded — the forests' implicit
 * layouts included — travels with it, and `fromTransferable` only wraps the arrays again.
 */
export interface TransferableModel extends Omit<TrainedModel, 'scaler' | 'fitted'> {
  scaler: { mean: Float64Array; scale: Float64Array } | null;
  fitted: TransferableFitted;
}

/**
 * Prepares a model for `postMessage(model, transfer)`: `transfer` lists every ArrayBuffer the
 * model's arrays own outright, so they move to the receiving thread instead of being copied
 * (and become unusable in this one — only hand over a model this thread is done with).
 * Arrays that are views into a larger buffer are left out and get copied.
 * `servingOnly`: a random forest carries only what prediction reads (see
 * `RandomForestRegressor.toState`) — a tenth of the memory; the model can then not be encoded again.
 */
export function toTransferable(model: TrainedModel, opts: { servingOnly?: boolean } = {}): { model: TransferableModel; transfer: ArrayBuffer[] } {
  const f = model.fitted;
  const fitted: TransferableFitted =
    f.type === 'random_forest'
      ? { type: f.type, forest: f.forest.toState(opts) }
      : f.type === 'isolation_forest'
        ? { type: f.type, forest: f.forest.toState() }
        : f.type === 'linear_regression'
          ? { type: f.type, coefficients: f.regression.coefficients, intercept: f.regression.intercept, rank: f.regression.rank, trainR2: f.regression.trainR2 }
          : { type: f.type, centers: f.kmeans.centers, nClusters: f.kmeans.nClusters, inertia: f.kmeans.inertia, iterations: f.kmeans.iterations };
  const { scaler: s, fitted: _fitted, ...meta } = model;
  const out: TransferableModel = { ...meta, scaler: s ? { mean: s.mean, scale: s.scale } : null, fitted };
  const buffers = new Set<ArrayBuffer>();
  collectBuffers(out.scaler, buffers);
  collectBuffers(fitted, buffers);
  return { model: out, transfer: [...buffers] };
}

/** The `TrainedModel` of a `TransferableModel` (after it crossed a thread boundary). */
export function fromTransferable(t: TransferableModel): TrainedModel {
  const f = t.fitted;
  const fitted: FittedState =
    f.type === 'random_forest'
      ? { type: f.type, forest: RandomForestRegressor.fromState(f.forest) }
      : f.type === 'isolation_forest'
        ? { type: f.type, forest: IsolationForest.fromState(f.forest) }
        : f.type === 'linear_regression'
          ? { type: f.type, regression: LinearRegression.fromState(f.coefficients, f.intercept, f.rank, f.trainR2) }
          : { type: f.type, kmeans: KMeans.fromState(f.centers, f.nClusters, f.inertia, f.iterations) };
  return { ...t, scaler: t.scaler ? StandardScaler.fromState(t.scaler.mean, t.scaler.scale) : null, fitted };
}

/** Adds the buffer of every typed array in `value` (walking plain objects) that the array spans whole. */
function collectBuffers(value: unknown, into: Set<ArrayBuffer>): void {
  if (value === null || typeof value !== 'object') return;
  if (ArrayBuffer.isView(value)) {
    const b = value.buffer;
    // (Tag check, not instanceof: typed arrays may come from another realm, e.g. a vm context.)
    if (Object.prototype.toString.call(b) === '[object ArrayBuffer]' && value.byteOffset === 0 && value.byteLength === b.byteLength) into.add(b as ArrayBuffer);
    return;
  }
  for (const v of Object.values(value)) collectBuffers(v, into);
}

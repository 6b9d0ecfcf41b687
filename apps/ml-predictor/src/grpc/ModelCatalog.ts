/**
 * The models the gRPC layer serves. Implemented elsewhere (model loading/training); the gRPC adapter
 * only reads through this interface.
 */
export interface ServableModel {
  /** Model name, e.g. "session-duration". */
  name: string;
  /** Version, >= 1, increasing with each training run. */
  version: number;
  /** Algorithm family: "random_forest", "linear_regression", "kmeans" or "isolation_forest". */
  type: string;
  /** Feature names in the order each row lists them; its length is the feature count. */
  featureKeys: string[];
  /** When training finished, RFC 3339 UTC. */
  trainedAt: string;
  /** Evaluation metrics from training by name (e.g. rmse, r2). */
  metrics: Record<string, number>;
  /** Relative importance per feature key, when the model has them. */
  featureImportances?: Record<string, number>;
  /**
   * Predicts one value per row. `x` holds `nRows * featureKeys.length` finite values, row-major;
   * returns `nRows` values. Synchronous: it runs on the event loop, so cost per row matters.
   */
  predict(x: Float64Array, nRows: number): Float64Array;
}

export interface ModelCatalog {
  /** The given version of `name`, or its latest (highest) version when `version` is undefined. */
  get(name: string, version?: number): ServableModel | undefined;
  /** Every loaded model version. */
  list(): ServableModel[];
  /** True once models are loaded and predictions can be served. */
  isReady(): boolean;
}

import type { TrainRequest, TrainedModel } from '@pipeline/ml';

/** What the registry manifest and the job status carry about a model (readable without decoding it). */
export type ModelSummary = Pick<TrainedModel, 'type' | 'featureKeys' | 'targetKey' | 'metrics' | 'featureImportances' | 'params' | 'provenance'>;

export interface TrainingOutput {
  /** `encodeModel(model)`. */
  bytes: Uint8Array;
  summary: ModelSummary;
}

/**
 * Runs `trainModel` somewhere — a worker thread in production (createWorkerRunner), inline in
 * tests (createInlineRunner). Rejects with the `MlInputError` of bad input; `signal` aborts.
 */
export interface TrainingRunner {
  train(request: TrainRequest, onProgress: (fraction: number) => void, signal: AbortSignal): Promise<TrainingOutput>;
}

export function summarizeModel(model: TrainedModel): ModelSummary {
  return {
    type: model.type,
    featureKeys: model.featureKeys,
    ...(model.targetKey === undefined ? {} : { targetKey: model.targetKey }),
    metrics: model.metrics,
    ...(model.featureImportances === undefined ? {} : { featureImportances: model.featureImportances }),
    params: model.params,
    provenance: model.provenance,
  };
}

/** Messages from train.worker.ts to the main thread. */
export type WorkerMessage =
  | { type: 'progress'; fraction: number }
  | { type: 'done'; bytes: Uint8Array; summary: ModelSummary }
  | { type: 'error'; name: string; message: string; field?: string };

/** What train.worker.ts is started with: the job. */
export interface TrainWorkerData {
  request: TrainRequest;
}

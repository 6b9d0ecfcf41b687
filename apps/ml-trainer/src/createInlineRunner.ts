import { encodeModel, trainModel } from '@pipeline/ml';
import { summarizeModel, type TrainingRunner } from './TrainingRunner';

/**
 * Trains on the calling thread. It blocks the event loop for the whole training (no heartbeats,
 * no HTTP), so it is for unit tests and small embedded-mode jobs only.
 */
export function createInlineRunner(): TrainingRunner {
  return {
    async train(request, onProgress, signal) {
      signal.throwIfAborted();
      const model = trainModel(request, onProgress, { nowMs: () => performance.now() });
      return { bytes: encodeModel(model), summary: summarizeModel(model) };
    },
  };
}

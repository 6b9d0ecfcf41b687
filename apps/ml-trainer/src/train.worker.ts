// Worker-thread entry of ml-trainer (bundled to dist/apps/ml-trainer/train.worker.js): trains one
// model from `workerData` and posts progress, then the encoded model (transferred, not copied).
import { parentPort, workerData } from 'node:worker_threads';
import { MlInputError, encodeModel, trainModel } from '@pipeline/ml';
import { summarizeModel, type TrainWorkerData, type WorkerMessage } from './TrainingRunner';

const { request } = workerData as TrainWorkerData;

const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(m, transfer);
let last = -1;
try {
  const model = trainModel(
    request,
    (fraction) => {
      // Trees finish hundreds of times per second on small data; the parent throttles again.
      if (fraction - last >= 0.01 || fraction === 1) {
        last = fraction;
        post({ type: 'progress', fraction });
      }
    },
    { nowMs: () => performance.now() },
  );
  const bytes = encodeModel(model);
  post({ type: 'done', bytes, summary: summarizeModel(model) }, [bytes.buffer as ArrayBuffer]);
} catch (err) {
  const e = err as Error;
  post({ type: 'error', name: e?.name ?? 'Error', message: e?.message ?? String(err), ...(err instanceof MlInputError ? { field: err.field } : {}) });
}

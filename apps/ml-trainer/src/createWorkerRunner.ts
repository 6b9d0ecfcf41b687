import { Worker } from 'node:worker_threads';
import { PipelineError } from '@pipeline/contracts';
import { MlInputError } from '@pipeline/ml';
import type { TrainWorkerData, TrainingRunner, WorkerMessage } from './TrainingRunner';

/** A worker that died or failed for a reason other than bad input. Not retried: the job fails with the reason. */
export class TrainingWorkerError extends PipelineError {
  constructor(message: string) {
    super('training_worker_failed', message);
  }
}

/**
 * Trains each job in a fresh worker thread running `workerPath` (train.worker.js), so the main
 * thread keeps heartbeating Kafka and answering HTTP. One thread per job: its memory is returned
 * when the job ends, and aborting is `worker.terminate()`. Bad input comes back as MlInputError.
 */
export function createWorkerRunner(workerPath: string): TrainingRunner {
  return {
    train(request, onProgress, signal) {
      return new Promise((resolve, reject) => {
        signal.throwIfAborted();
        const worker = new Worker(workerPath, { workerData: { request } satisfies TrainWorkerData });
        let settled = false;
        const settle = (f: () => void) => {
          if (settled) return;
          settled = true;
          signal.removeEventListener('abort', onAbort);
          f();
          void worker.terminate();
        };
        const onAbort = () => settle(() => reject(signal.reason));
        signal.addEventListener('abort', onAbort, { once: true });
        worker.on('message', (m: WorkerMessage) => {
          if (m.type === 'progress') onProgress(m.fraction);
          else if (m.type === 'done') settle(() => resolve({ bytes: m.bytes, summary: m.summary }));
          else settle(() => reject(m.name === 'MlInputError' ? new MlInputError(m.message, m.field ?? '') : new TrainingWorkerError(`training failed: ${m.message}`)));
        });
        worker.on('error', (err) => settle(() => reject(new TrainingWorkerError(`training worker crashed: ${err.message}`))));
        worker.on('exit', (code) => settle(() => reject(new TrainingWorkerError(`training worker exited with code ${code} before finishing`))));
      });
    },
  };
}

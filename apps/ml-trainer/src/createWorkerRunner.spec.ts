import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadsOf, waitFor } from '@pipeline/testing';
import { createWorkerRunner } from './createWorkerRunner';

/** A stand-in for train.worker.js that reports progress and finishes. */
function fakeWorker(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'train-worker-')), 'fake.worker.js');
  writeFileSync(
    file,
    `const { parentPort, workerData } = require('node:worker_threads');
     parentPort.postMessage({ type: 'progress', fraction: 0.5 });
     const bytes = Uint8Array.of(1, 2, 3);
     parentPort.postMessage({ type: 'done', bytes, summary: { modelName: workerData.request.modelName } }, [bytes.buffer]);`,
  );
  return file;
}

/** A stand-in for train.worker.js on a huge forest: reports that it started, then spins forever. */
function spinningWorker(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'train-worker-')), 'spin.worker.js');
  writeFileSync(file, `require('node:worker_threads').parentPort.postMessage({ type: 'progress', fraction: 0.01 }); for (;;) {}`);
  return file;
}

/** Thread ids of this process's worker threads (ids, not a count: an earlier test's worker may still be exiting). */
const workerThreadIds = () => new Set(threadsOf(process.pid).filter((t) => t.comm === 'WorkerThread').map((t) => t.tid));

describe('createWorkerRunner', () => {
  it('passes the request to the worker, reports its progress and resolves with the model it posts', async () => {
    const progress: number[] = [];
    const runner = createWorkerRunner(fakeWorker());
    const request = { modelName: 'm', modelType: 'linear_regression', featureKeys: ['a'], targetKey: 'y', rows: [] } as unknown as Parameters<typeof runner.train>[0];
    const out = await runner.train(request, (f) => progress.push(f), new AbortController().signal);
    expect({ progress, bytes: Array.from(out.bytes), summary: out.summary }).toEqual({ progress: [0.5], bytes: [1, 2, 3], summary: { modelName: 'm' } });
  });

  it('terminates the worker when the signal aborts (timeout, cancel, shutdown) and rejects with the reason, so the CPU it held is free', async () => {
    const before = workerThreadIds();
    const runner = createWorkerRunner(spinningWorker());
    const stop = new AbortController();
    let started!: () => void;
    const progressed = new Promise<void>((r) => (started = r));
    const request = { modelName: 'm' } as unknown as Parameters<typeof runner.train>[0];
    const training = runner.train(request, () => started(), stop.signal);
    const reason = new Error('training job did not finish within 1000 ms (ML_JOB_TIMEOUT_MS) and was stopped');
    try {
      await progressed;
      const spinning = [...workerThreadIds()].filter((tid) => !before.has(tid));
      expect(spinning).toHaveLength(1);
      stop.abort(reason);
      await expect(training).rejects.toBe(reason);
      await waitFor(() => !workerThreadIds().has(spinning[0]!), { timeoutMs: 5_000, what: 'the spinning worker thread to end' });
    } finally {
      stop.abort(reason); // a failed expectation must not leave a spinning thread behind (Jest would never exit)
      await training.catch(() => undefined);
    }
  });
});

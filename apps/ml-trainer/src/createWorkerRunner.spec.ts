import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

describe('createWorkerRunner', () => {
  it('passes the request to the worker, reports its progress and resolves with the model it posts', async () => {
    const progress: number[] = [];
    const runner = createWorkerRunner(fakeWorker());
    const request = { modelName: 'm', modelType: 'linear_regression', featureKeys: ['a'], targetKey: 'y', rows: [] } as unknown as Parameters<typeof runner.train>[0];
    const out = await runner.train(request, (f) => progress.push(f), new AbortController().signal);
    expect({ progress, bytes: Array.from(out.bytes), summary: out.summary }).toEqual({ progress: [0.5], bytes: [1, 2, 3], summary: { modelName: 'm' } });
  });
});

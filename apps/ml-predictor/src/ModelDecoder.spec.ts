import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ModelFormatError, createPredictor, encodeModel, trainModel } from '@pipeline/ml';
import { tsWorkerSource } from '@pipeline/testing';
import { ModelDecodeError, createWorkerDecoder, type DecodeResourceLimits } from './ModelDecoder';

const root = join(__dirname, '..', '..', '..');
const forest = trainModel({
  modelName: 'f',
  modelType: 'random_forest',
  featureKeys: ['a', 'b'],
  targetKey: 'y',
  rows: Array.from({ length: 300 }, (_, i) => ({ a: i % 17, b: (i * 7) % 11, y: (i % 17) * 2 + ((i * 7) % 11) })),
  params: { nEstimators: 10 },
  version: 4,
  trainedAt: '2026-11-27T14:00:00.000Z',
});
const bytes = encodeModel(forest);
const probe = Float64Array.of(3, 4, 16, 0, 8.5, 10);

/** decode.worker.ts run from its source as an eval worker (compiled in the worker, no bundling). */
const workerCode = tsWorkerSource(join(__dirname, 'decode.worker.ts'));

describe('createWorkerDecoder', () => {
  it('decodes in the worker and predicts exactly what the trained model does; the caller keeps its bytes', async () => {
    let spawned = 0;
    const decoder = createWorkerDecoder({ spawn: () => (spawned++, new Worker(workerCode, { eval: true })) });
    const copy = Uint8Array.from(bytes);
    const a = await decoder.decode(copy);
    const b = await decoder.decode(copy);
    expect([a.thread, b.thread, spawned]).toEqual(['worker', 'worker', 1]);
    expect(createPredictor(a.model).predict(probe, 3)).toEqual(createPredictor(forest).predict(probe, 3));
    expect([a.model.name, a.model.version, a.model.featureImportances]).toEqual(['f', 4, forest.featureImportances]);
    expect(copy).toEqual(bytes); // a private copy went to the worker
    await decoder.close();
  });

  it('rejects a bad model file with the ModelFormatError the worker raised', async () => {
    const decoder = createWorkerDecoder({ spawn: () => new Worker(workerCode, { eval: true }) });
    const bad = Uint8Array.from(bytes.subarray(0, 40));
    await expect(decoder.decode(bad)).rejects.toThrow(ModelFormatError);
    await expect(decoder.decode(bad)).rejects.toThrow(/model file truncated/);
    await decoder.close();
  });

  it('fails the version a dying worker held, never decodes on the main thread, and decodes the next in a new worker', async () => {
    const failures: string[] = [];
    let spawned = 0;
    const dying = "require('node:worker_threads').parentPort.on('message', () => process.exit(3));";
    const decoder = createWorkerDecoder({
      spawn: () => new Worker(spawned++ === 0 ? dying : workerCode, { eval: true }),
      onWorkerFailure: (err) => failures.push(err.message),
    });
    const [a, b] = await Promise.allSettled([decoder.decode(bytes), decoder.decode(bytes)]);
    expect(a).toEqual({ status: 'rejected', reason: new ModelDecodeError('model decode worker exited with code 3', 'worker_failed') });
    expect(b.status === 'fulfilled' && b.value.thread).toBe('worker');
    expect(failures).toEqual(['model decode worker exited with code 3']);
    const c = await decoder.decode(bytes);
    expect([c.thread, spawned]).toEqual(['worker', 2]);
    await decoder.close();
  });

  it('starts the worker with heap limits; a version that runs it out of memory fails and the next decodes in a new worker', async () => {
    const failures: string[] = [];
    const given: DecodeResourceLimits[] = [];
    let spawned = 0;
    // A "decoder" that keeps every array it makes, as a 64 MiB JSON header parsed into objects would.
    const hoarding = "const k = []; require('node:worker_threads').parentPort.on('message', () => { for (;;) k.push(new Array(1e5).fill({ a: 1 })); });";
    const limits = { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 };
    const decoder = createWorkerDecoder({
      resourceLimits: limits,
      spawn: (resourceLimits) => (given.push(resourceLimits), new Worker(spawned++ === 0 ? hoarding : workerCode, { eval: true, resourceLimits })),
      onWorkerFailure: (err) => failures.push(err.message),
    });
    await expect(decoder.decode(bytes)).rejects.toThrow(new ModelDecodeError('model decode worker ran out of memory (heap limit 32 MB)', 'worker_failed'));
    expect((await decoder.decode(bytes)).thread).toBe('worker');
    expect({ given, failures }).toEqual({ given: [limits, limits], failures: ['model decode worker ran out of memory (heap limit 32 MB)'] });
    await decoder.close();
  });

  it('stops a decode that takes longer than timeoutMs (worker start-up included), fails that version, and decodes the next in a new worker', async () => {
    const failures: string[] = [];
    let spawned = 0;
    const spinning = "require('node:worker_threads').parentPort.on('message', () => { for (;;); });";
    const decoder = createWorkerDecoder({
      timeoutMs: 3_000, // well above a worker's start-up on a busy machine: the timer includes it
      spawn: () => new Worker(spawned++ === 0 ? spinning : workerCode, { eval: true }),
      onWorkerFailure: (err) => failures.push(err.message),
    });
    const [slow, next] = await Promise.allSettled([decoder.decode(bytes), decoder.decode(bytes)]);
    expect(slow).toEqual({ status: 'rejected', reason: new ModelDecodeError('model decode took longer than 3000 ms; the decode worker was stopped', 'timeout') });
    expect(next.status === 'fulfilled' && next.value.thread).toBe('worker');
    expect([failures, spawned]).toEqual([['model decode took longer than 3000 ms; the decode worker was stopped'], 2]);
    await decoder.close();
  }, 30_000); // a 3 s timeout plus two worker start-ups: over Jest's 5 s default on a busy machine

  it('fails the version when no worker can be started, without decoding it on the main thread', async () => {
    const failures: string[] = [];
    const missing = createWorkerDecoder({ spawn: () => new Worker(join(root, 'no-such-decode.worker.js')), onWorkerFailure: (err) => failures.push(err.message) });
    await expect(missing.decode(bytes)).rejects.toThrow(/no-such-decode\.worker\.js/);
    const throwing = createWorkerDecoder({
      spawn: () => {
        throw new Error('no threads');
      },
      onWorkerFailure: (err) => failures.push(err.message),
    });
    await expect(throwing.decode(bytes)).rejects.toThrow(new ModelDecodeError('model decode worker could not start: no threads', 'worker_failed'));
    expect(failures).toEqual([expect.stringMatching(/no-such-decode\.worker\.js/), 'model decode worker could not start: no threads']);
    await Promise.all([missing.close(), throwing.close()]);
  });

  it('refuses work after close', async () => {
    const decoder = createWorkerDecoder({ spawn: () => new Worker(workerCode, { eval: true }) });
    await decoder.decode(bytes);
    await decoder.close();
    await expect(decoder.decode(bytes)).rejects.toThrow('model decoder closed');
  });
});

// createWorkerDecoder in a process of its own: the one property a unit test cannot see from inside
// Jest, that a decoder keeps its process alive only while a decode is in flight.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { encodeModel, trainModel } from '@pipeline/ml';

const root = join(__dirname, '..', '..', '..');
const bytes = encodeModel(
  trainModel({
    modelName: 'f',
    modelType: 'random_forest',
    featureKeys: ['a', 'b'],
    targetKey: 'y',
    rows: Array.from({ length: 300 }, (_, i) => ({ a: i % 17, b: (i * 7) % 11, y: (i % 17) * 2 + ((i * 7) % 11) })),
    params: { nEstimators: 10 },
    version: 4,
    trainedAt: '2026-11-27T14:00:00.000Z',
  }),
);

/** decode.worker.ts bundled in memory (as scripts/build.mjs bundles it), for an eval worker. */
let workerCode: string;
/** ModelDecoder.ts bundled to a CommonJS file, for the child process that uses it. */
let decoderBundle: string;
beforeAll(async () => {
  const options = { bundle: true, platform: 'node', format: 'cjs', packages: 'external', tsconfig: join(root, 'tsconfig.base.json'), logLevel: 'silent' } as const;
  decoderBundle = join(mkdtempSync(join(tmpdir(), 'decoder-')), 'ModelDecoder.js');
  await build({ ...options, entryPoints: [join(__dirname, 'ModelDecoder.ts')], outfile: decoderBundle });
  const out = await build({ ...options, entryPoints: [join(__dirname, 'decode.worker.ts')], write: false });
  workerCode = out.outputFiles[0]!.text;
});

describe('createWorkerDecoder in its own process', () => {
  it('keeps a process alive while a decode is in flight, and not once it is idle', () => {
    // A script that only awaits one decode: it must print the model name, then exit on its own.
    const script = `
      const { Worker } = require('node:worker_threads');
      const { createWorkerDecoder } = require(${JSON.stringify(decoderBundle)});
      const decoder = createWorkerDecoder({ spawn: () => new Worker(${JSON.stringify(workerCode)}, { eval: true }) });
      decoder.decode(new Uint8Array(Buffer.from(${JSON.stringify(Buffer.from(bytes).toString('base64'))}, 'base64'))).then((d) => console.log(d.thread, d.model.name));
    `;
    // The bundle lives in a temp dir: its external packages resolve from the repo's node_modules.
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, NODE_PATH: join(root, 'node_modules') } });
    expect([r.status, r.stdout.trim(), r.stderr]).toEqual([0, 'worker f', '']);
  });
});

// How long a hot swap blocks ml-predictor's event loop: a new version of the serving benches'
// forest (benchForest.ts) loaded into the predictor's RegistryCatalog, decoded on the main thread
// (what the predictor did before session 6) or in its decode worker (what it does now:
// dist/apps/ml-predictor/decode.worker.js, built by the npm script). While each version loads, a
// 1 ms timer on the main thread records how late it fires at most — about the longest a gRPC call
// arriving then would have waited. Alternates the two decoders, version after version, so both see
// the same machine, each load starting from a collected heap; the first load of each is reported
// apart (cold code, and the worker's start-up). Runs with the predictor's deployed V8 flag
// (--max-semi-space-size=1).
//   npm run bench:ml-hotswap            BENCH_VERSIONS=15 (per decoder, after the first)
//   BENCH_DECODERS=worker …              only these decoders (main, worker), e.g. to see the main thread's GC alone
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { encodeModel } from '@pipeline/ml';
import type { RegisteredModel } from '@pipeline/model-registry';
import { RegistryCatalog, createInlineDecoder, createWorkerDecoder, type ModelDecoder } from '../../apps/ml-predictor/src/index';
import { trainBenchForest } from './benchForest';

const versions = Number(process.env['BENCH_VERSIONS'] ?? 15);
const only = (process.env['BENCH_DECODERS'] ?? 'main,worker').split(',');
const KINDS = ['main', 'worker'] as const;
type Kind = (typeof KINDS)[number];
const workerPath = join(process.cwd(), 'dist/apps/ml-predictor/decode.worker.js');
const gc = (globalThis as { gc?: () => void }).gc; // scripts/run-ts.mjs runs with --expose-gc
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * The longest the main thread failed to answer while `during` ran: a 1 ms timer re-armed on every
 * turn, like a mostly idle server waiting for calls; returns the largest lateness past the 1 ms.
 */
async function longestStall<T>(during: () => Promise<T>): Promise<{ stallMs: number; value: T; ms: number }> {
  let longest = 0;
  let last = performance.now();
  let done = false;
  const tick = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last - 1);
    last = now;
    if (!done) setTimeout(tick, 1);
  };
  setTimeout(tick, 1);
  const t0 = performance.now();
  const value = await during();
  const ms = performance.now() - t0;
  done = true;
  await new Promise((r) => setTimeout(r, 2));
  return { stallMs: Math.max(0, longest), value, ms };
}

async function main(): Promise<void> {
  const model = trainBenchForest('hotswap', 3);
  const version = (v: number): RegisteredModel => {
    const bytes = encodeModel({ ...model, version: v });
    return { manifest: { name: 'hotswap', version: v, sha256: '', size: bytes.length, chunks: 1, chunkBytes: bytes.length, publishedAt: '', metadata: {} }, bytes };
  };
  console.log(
    `model: 100 trees, depth 10, 10 features, ${encodeModel(model).length.toLocaleString('en-US')} bytes; ${versions + 1} versions per decoder; node ${process.version}, ${process.execArgv.join(' ') || 'no flags'}, NODE_OPTIONS=${process.env['NODE_OPTIONS'] ?? ''}`,
  );
  const decoders: Record<Kind, ModelDecoder> = {
    main: createInlineDecoder(),
    worker: createWorkerDecoder({ spawn: () => new Worker(workerPath), onWorkerFailure: (err) => console.error(`decode worker failed: ${err.message}`) }),
  };
  const threads = Object.fromEntries(KINDS.map((k) => [k, new Set<string>()])) as Record<Kind, Set<string>>;
  const catalogs = Object.fromEntries(
    KINDS.map((k) => [k, new RegistryCatalog({ maxVersionsPerModel: 3, decoder: decoders[k], onLoaded: (_m, info) => threads[k].add(info.thread) })]),
  ) as Record<Kind, RegistryCatalog>;
  const results = Object.fromEntries(KINDS.map((k) => [k, [] as { stallMs: number; loadMs: number }[]])) as Record<Kind, { stallMs: number; loadMs: number }[]>;
  let v = 1;
  for (let i = 0; i <= versions; i++) {
    // Rotates the order each version, so no decoder always follows the same one.
    const order = KINDS.map((_, j) => KINDS[(i + j) % KINDS.length]!);
    for (const k of order) {
      if (!only.includes(k)) continue;
      const next = version(v++);
      // Each load starts from a collected heap, so neither decoder pays for the other's garbage
      // (the main-thread decode leaves ~10 MB behind; its later collection is not counted here).
      gc?.();
      gc?.();
      await new Promise((r) => setTimeout(r, 50));
      const { stallMs, ms } = await longestStall(() => catalogs[k].load(next));
      results[k].push({ stallMs, loadMs: ms });
    }
  }
  // A baseline with nothing loading: the same probe for 50 ms, to show the machine's own lateness.
  const idle: number[] = [];
  for (let i = 0; i < 10; i++) idle.push((await longestStall(() => new Promise((r) => setTimeout(r, 50)))).stallMs);
  await decoders.worker.close();
  for (const k of KINDS) {
    if (!only.includes(k)) continue;
    const [first, ...rest] = results[k];
    console.log(
      `decoded on ${k.padEnd(6)} (${[...threads[k]].join(',')}): first load: event loop blocked ${first!.stallMs.toFixed(1)} ms, loaded in ${first!.loadMs.toFixed(1)} ms; ` +
        `next ${rest.length}: blocked median ${median(rest.map((r) => r.stallMs)).toFixed(2)} ms, max ${Math.max(...rest.map((r) => r.stallMs)).toFixed(2)} ms; loaded in median ${median(rest.map((r) => r.loadMs)).toFixed(1)} ms`,
    );
  }
  console.log(`baseline (nothing loading, 10 × 50 ms): 1 ms timer late by at most: median ${median(idle).toFixed(2)} ms, max ${Math.max(...idle).toFixed(2)} ms`);
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});

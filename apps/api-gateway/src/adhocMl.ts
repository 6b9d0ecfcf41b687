import type { Worker } from 'node:worker_threads';
import { MlInputError, clusterOnce, detectAnomaliesOnce } from '@pipeline/ml';
import { createWorkerCalls } from '@pipeline/service-runtime';

/** One ad-hoc call of POST /pipeline/ml/cluster or /pipeline/ml/anomalies, validated. */
export type AdhocMlCall =
  | { op: 'cluster'; features: number[][]; nClusters: number; seed: number }
  | { op: 'anomalies'; features: number[][]; contamination: number; seed: number };

/** The computation of a call: what adhoc.worker runs, and what the inline runner runs. */
export function computeAdhocMl(c: AdhocMlCall): unknown {
  return c.op === 'cluster' ? clusterOnce(c.features, c.nClusters, c.seed) : detectAnomaliesOnce(c.features, c.contamination, c.seed);
}

/** Where ad-hoc calls run. Bad input rejects with MlInputError. */
export interface AdhocMlRunner {
  run(call: AdhocMlCall): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * Ad-hoc calls in one long-lived worker thread (`spawn` starts adhoc.worker), one at a time in
 * order, so k-means and isolation forests on a body of up to BODY_LIMIT_BYTES never block the
 * gateway's event loop. Without `spawn` they run inline (embedded mode before a build).
 */
export function createAdhocMlRunner(spawn?: () => Worker): AdhocMlRunner {
  if (!spawn) return { run: async (call) => computeAdhocMl(call), close: async () => {} };
  const worker = createWorkerCalls<AdhocMlCall>({
    spawn,
    errorOf: (f) => (f.name === 'MlInputError' ? new MlInputError(f.message, f.field ?? '') : new Error(`ad-hoc ML call failed in its worker: ${f.name}: ${f.message}`)),
    lost: (why) => new Error(`ad-hoc ML worker ${why}`),
  });
  return { run: (call) => worker.call(call), close: () => worker.close() };
}

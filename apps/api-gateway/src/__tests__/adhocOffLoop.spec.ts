import type { Server } from 'node:http';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import express from 'express';
import { InMemoryBus } from '@pipeline/kafka';
import { clusterOnce, detectAnomaliesOnce } from '@pipeline/ml';
import { closeServer, createLogger, createServiceApp, listen, ServiceMetrics } from '@pipeline/service-runtime';
import { httpRequest, tsWorkerSource } from '@pipeline/testing';
import { createAdhocMlRunner, type AdhocMlRunner } from '../adhocMl';
import { createMlRoutes } from '../routes/ml';

jest.setTimeout(60_000);

/** adhoc.worker.ts run from its source as an eval worker (no bundling). */
const workerCode = tsWorkerSource(join(__dirname, '..', 'adhoc.worker.ts'));

/** 10,000 rows (the schema's most) × 20 = 200,000 values, twice the old in-loop cap: k-means with 16 clusters takes a while. */
const big = Array.from({ length: 10_000 }, (_, i) => Array.from({ length: 20 }, (_, j) => ((i * 7919 + j * 104729) % 1000) / 10));
const small = Array.from({ length: 300 }, (_, i) => [i % 17, (i * 31) % 23, i === 150 ? 500 : i % 5]);

describe('ad-hoc /pipeline/ml/cluster and /anomalies run in a worker thread', () => {
  let server: Server;
  let url: string;
  let callsStarted = 0;
  let onCallStart = () => {};
  const inWorker = createAdhocMlRunner(() => new Worker(workerCode, { eval: true }));
  /** The worker runner, telling the test when a call has been handed to it. */
  const adhoc: AdhocMlRunner = {
    run: (call) => {
      callsStarted++;
      onCallStart();
      return inWorker.run(call);
    },
    close: () => inWorker.close(),
  };
  const ml = createMlRoutes({ bus: new InMemoryBus(), predictorAddress: 'unused:1', adhoc });
  const post = (path: string, body: unknown) => httpRequest(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  /** What the library returns, as JSON carries it (what the routes answered when they ran it inline). */
  const asJson = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

  beforeAll(async () => {
    const app = createServiceApp({
      metrics: new ServiceMetrics('api-gateway'),
      logger: createLogger('api-gateway', 'silent'),
      readiness: [],
      routes: (a) => {
        a.use('/pipeline', express.json({ limit: 10 * 1024 * 1024 }));
        ml.register(a);
      },
    });
    server = await listen(app, '127.0.0.1', 0);
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await ml.stop();
    await closeServer(server);
  });

  it('answers /healthz while a 200,000-value clustering runs, then answers the clustering with the library’s own result', async () => {
    const started = new Promise<void>((resolve) => (onCallStart = resolve));
    const finished: string[] = [];
    const clustering = post('/pipeline/ml/cluster', { features: big, n_clusters: 16, seed: 3 }).then((r) => (finished.push('cluster'), r));
    // The call is in the worker now (an answer before that is a failure, not a hang).
    await Promise.race([started, clustering.then((r) => Promise.reject(new Error(`answered ${r.status} before reaching the worker: ${JSON.stringify(r.json)}`)))]);
    const health = await httpRequest(`${url}/healthz`);
    finished.push('healthz');
    const r = await clustering;
    expect({ finished, health: health.status, status: r.status }).toEqual({ finished: ['healthz', 'cluster'], health: 200, status: 200 });
    expect(r.json).toEqual(asJson(clusterOnce(big, 16, 3)));
  });

  it('answers anomaly detection with the library’s own labels and scores', async () => {
    const r = await post('/pipeline/ml/anomalies', { features: small, contamination: 0.01, seed: 7 });
    expect([r.status, r.json]).toEqual([200, asJson(detectAnomaliesOnce(small, 0.01, 7))]);
  });

  it('answers bad input found in the worker with 400 and the library’s message naming the field', async () => {
    const before = callsStarted;
    const r = await post('/pipeline/ml/cluster', { features: [[1], [2]], n_clusters: 3 });
    expect([r.status, r.json]).toEqual([400, { error: { code: 'invalid_request', message: 'nClusters must be an integer in [1, 2] (the number of rows), got 3' } }]);
    expect(callsStarted - before).toBe(1);
  });
});

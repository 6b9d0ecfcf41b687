import type { Server } from 'node:http';
import { status } from '@grpc/grpc-js';
import express from 'express';
import { InMemoryBus } from '@pipeline/kafka';
import type { ModelInfo, PredictorClient } from '@pipeline/proto';
import { closeServer, createLogger, createServiceApp, listen, ServiceMetrics } from '@pipeline/service-runtime';
import { httpRequest } from '@pipeline/testing';
import { createMlRoutes } from './ml';

/** A predictor double: models by name and version; a prediction is Σ value[j]·10^j, so column order shows. */
function fakePredictor() {
  const models = new Map<string, ModelInfo[]>();
  const calls = { getModel: 0, predict: 0 };
  const grpcError = (code: number, details: string) => Object.assign(new Error(details), { code, details });
  const find = (name: string, version = 0) => {
    const versions = models.get(name) ?? [];
    return version === 0 ? versions[versions.length - 1] : versions.find((m) => m.version === version);
  };
  const client: PredictorClient = {
    async getModel({ modelName = '', version = 0 }) {
      calls.getModel++;
      const m = find(modelName, version);
      if (!m) throw grpcError(status.NOT_FOUND, `model "${modelName}"${version ? ` version ${version}` : ''} not found`);
      return { model: m };
    },
    async predict({ modelName = '', version = 0, values = [], nFeatures = 0 }) {
      calls.predict++;
      const m = find(modelName, version);
      if (!m) throw grpcError(status.NOT_FOUND, `model "${modelName}"${version ? ` version ${version}` : ''} not found`);
      const predictions: number[] = [];
      for (let i = 0; i < values.length; i += nFeatures) predictions.push(values.slice(i, i + nFeatures).reduce((a, v, j) => a + v * 10 ** j, 0));
      return { predictions, modelName, modelVersion: m.version };
    },
    async listModels() {
      return { models: [...models.values()].flat() };
    },
    close() {},
  };
  const add = (name: string, version: number, featureKeys: string[]) =>
    models.set(name, [...(models.get(name) ?? []), { name, version, type: 'linear_regression', featureKeys, metrics: {}, featureImportances: {}, trainedAt: '2026-11-27T14:00:00.000Z' }]);
  const remove = (name: string, version: number) => models.set(name, (models.get(name) ?? []).filter((m) => m.version !== version));
  return { client, calls, add, remove };
}

describe('POST /pipeline/ml/predict with rows', () => {
  let server: Server;
  let url: string;
  let clock = 0;
  const predictor = fakePredictor();
  const predict = (body: unknown) =>
    httpRequest(`${url}/pipeline/ml/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    const ml = createMlRoutes({ bus: new InMemoryBus(), predictorAddress: 'unused:1', predictor: predictor.client, featureOrderCache: { latestTtlMs: 1_000, now: () => clock } });
    const app = createServiceApp({
      metrics: new ServiceMetrics('api-gateway'),
      logger: createLogger('api-gateway', 'silent'),
      readiness: [],
      routes: (a) => {
        a.use('/pipeline', express.json());
        ml.register(a);
      },
    });
    server = await listen(app, '127.0.0.1', 0);
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => closeServer(server));

  it('lays rows out in the model’s column order and looks the order up once per model, not once per call', async () => {
    predictor.add('m', 1, ['b', 'a']);
    const before = { ...predictor.calls };
    for (let i = 0; i < 5; i++) {
      const r = await predict({ model_name: 'm', rows: [{ a: 1, b: 2 }, { b: 3, a: 4 }] });
      expect([r.status, r.json]).toEqual([200, { predictions: [2 + 10, 3 + 40], model_name: 'm', model_version: 1 }]);
    }
    expect([predictor.calls.getModel - before.getModel, predictor.calls.predict - before.predict]).toEqual([1, 5]);
  });

  it('picks up a newly served version once the latest-version entry is older than latestTtlMs', async () => {
    predictor.add('m', 2, ['a', 'b']);
    expect((await predict({ model_name: 'm', rows: [{ a: 1, b: 2 }] })).json).toMatchObject({ predictions: [12], model_version: 1 }); // still cached
    clock += 1_001;
    expect((await predict({ model_name: 'm', rows: [{ a: 1, b: 2 }] })).json).toMatchObject({ predictions: [21], model_version: 2 });
  });

  it('keeps a pinned version’s order without expiry', async () => {
    const before = predictor.calls.getModel;
    for (let i = 0; i < 3; i++) {
      clock += 10_000;
      expect((await predict({ model_name: 'm', version: 1, rows: [{ a: 1, b: 2 }] })).json).toMatchObject({ predictions: [12], model_version: 1 });
    }
    // v1's order was cached when it was the latest; no lookup needed at all.
    expect(predictor.calls.getModel - before).toBe(0);
  });

  it('looks the latest version up again, once, when the cached one is no longer served', async () => {
    predictor.add('w', 1, ['a', 'b']);
    expect((await predict({ model_name: 'w', rows: [{ a: 1, b: 2 }] })).json).toMatchObject({ model_version: 1 });
    predictor.remove('w', 1);
    predictor.add('w', 2, ['b', 'a']);
    const r = await predict({ model_name: 'w', rows: [{ a: 1, b: 2 }] }); // within the TTL
    expect([r.status, r.json]).toEqual([200, { predictions: [2 + 10], model_name: 'w', model_version: 2 }]);
  });

  it('answers 404 for an unknown model every time (nothing cached) and 400 for a missing feature', async () => {
    const before = predictor.calls.getModel;
    for (let i = 0; i < 2; i++) {
      const r = await predict({ model_name: 'nope', rows: [{ a: 1 }] });
      expect([r.status, r.json.error]).toEqual([404, { code: 'model_not_found', message: 'model "nope" not found' }]);
    }
    expect(predictor.calls.getModel - before).toBe(2);
    const missing = await predict({ model_name: 'w', rows: [{ a: 1, b: 2 }, { a: 3 }] });
    expect([missing.status, missing.json.error.message]).toEqual([400, 'rows[1].b is required (model "w" version 2 features: b, a)']);
    predictor.add('internals', 1, ['constructor', '__proto__']);
    const internals = await predict({ model_name: 'internals', rows: JSON.parse('[{"__proto__":2,"constructor":1}]') });
    expect([internals.status, internals.json.predictions]).toEqual([200, [21]]);
    const absent = await predict({ model_name: 'internals', rows: [{ other: 1 }] });
    expect([absent.status, absent.json.error.message]).toEqual([400, 'rows[0].constructor is required (model "internals" version 1 features: constructor, __proto__)']);
    const pinnedGone = await predict({ model_name: 'w', version: 1, rows: [{ a: 1, b: 2 }] });
    expect([pinnedGone.status, pinnedGone.json.error.code]).toEqual([404, 'model_not_found']);
  });
});

describe('api="rest" prediction metrics of POST /pipeline/ml/predict', () => {
  let server: Server;
  let url: string;
  const metrics = new ServiceMetrics('api-gateway');
  const predictor = fakePredictor();
  const predict = (body: unknown) =>
    httpRequest(`${url}/pipeline/ml/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const sample = async (series: string) => {
    const text = await metrics.registry.metrics();
    return text.split('\n').find((l) => l.startsWith(`${series} `))?.slice(series.length + 1);
  };

  beforeAll(async () => {
    const ml = createMlRoutes({ bus: new InMemoryBus(), predictorAddress: 'unused:1', predictor: predictor.client, registry: metrics.registry });
    const app = createServiceApp({
      metrics,
      logger: createLogger('api-gateway', 'silent'),
      readiness: [],
      routes: (a) => {
        a.use('/pipeline', express.json());
        ml.register(a);
      },
    });
    server = await listen(app, '127.0.0.1', 0);
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => closeServer(server));

  it('times every call that reached the predictor per served model, counts failures, and labels unknown names "other"', async () => {
    predictor.add('rf', 1, ['a', 'b']);
    expect((await predict({ model_name: 'rf', features: [[1, 2]] })).status).toBe(200);
    expect((await predict({ model_name: 'rf', rows: [{ a: 1, b: 2 }] })).status).toBe(200);
    expect((await predict({ model_name: 'rf', rows: [{ a: 1 }] })).status).toBe(400); // missing feature, found after the lookup
    for (let i = 0; i < 3; i++) expect((await predict({ model_name: `made-up-${i}`, features: [[1]] })).status).toBe(404);
    expect((await predict({ model_name: 'rf', features: [[1, 2], [1]] })).status).toBe(400); // refused at the door: not a prediction
    expect(await sample('pipeline_ml_prediction_duration_seconds_count{service="api-gateway",model="rf",api="rest"}')).toBe('3');
    expect(await sample('pipeline_ml_prediction_errors_total{model="rf",api="rest",service="api-gateway"}')).toBe('1');
    expect(await sample('pipeline_ml_prediction_duration_seconds_count{service="api-gateway",model="other",api="rest"}')).toBe('3');
    expect(await sample('pipeline_ml_prediction_errors_total{model="other",api="rest",service="api-gateway"}')).toBe('3');
    expect(await metrics.registry.metrics()).not.toContain('made-up');
  });
});

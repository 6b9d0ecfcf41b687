import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { INTERNAL_TOPICS, type MlJobStatus } from '@pipeline/contracts';
import { pipelineTopicSpecs, type EventBus } from '@pipeline/kafka';
import { createPredictor, decodeModel, encodeModel, trainModel, type Predictor } from '@pipeline/ml';
import { ModelRegistryView } from '@pipeline/model-registry';
import { createPredictorClient, type PredictorClient } from '@pipeline/proto';
import { startService, type RunningService } from '@pipeline/service-runtime';
import { createTestBus, freePort, httpRequest, kafkaBrokers, spawnApp, threadsOf, uniqueName, waitFor, type AppProcess } from '@pipeline/testing';
import { createGateway, readGatewayConfig } from '../../../api-gateway/src/index';

jest.setTimeout(240_000);

const post = (url: string, body: unknown) => httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('ml-trainer → registry → ml-predictor → gateway on a real broker', () => {
  const brokers = kafkaBrokers();
  const name = uniqueName('it-model');
  let bus: EventBus;
  let trainer: AppProcess;
  let predictor: AppProcess;
  let gateway: RunningService;
  let gatewayBus: EventBus;
  let grpc: PredictorClient;
  let predictorEnv: Record<string, string>;
  let url: string;

  /** y = 3a − 2b + c on a small grid, published as events.devices readings in a private time window. */
  const base = Date.UTC(2001, 0, 1) + Math.floor(Math.random() * 1e10);
  const grid = Array.from({ length: 300 }, (_, i) => ({ a: i % 10, b: Math.floor(i / 10) % 6, c: i % 7 }));

  const train = async (body: Record<string, unknown>): Promise<MlJobStatus> => {
    const res = await post(`${url}/pipeline/ml/train`, body);
    expect([res.status, res.json.status]).toEqual([202, 'queued']);
    return waitFor<MlJobStatus | undefined>(
      async () => {
        const job = (await httpRequest(`${url}/pipeline/ml/jobs/${res.json.job_id}`)).json as MlJobStatus;
        return job.status === 'succeeded' || job.status === 'failed' ? job : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 250, what: 'training job to finish' },
    ) as Promise<MlJobStatus>;
  };
  /** The model version as published, decoded in this process: the reference for every prediction. */
  const reference = async (version: number): Promise<Predictor> => {
    const view = new ModelRegistryView(bus, { topic: INTERNAL_TOPICS.mlModels, groupPrefix: 'it-reference' });
    await view.start();
    try {
      await view.catchUp(60_000);
      return createPredictor(decodeModel(view.get(name, version)!.bytes));
    } finally {
      await view.stop();
    }
  };
  const rows = [
    [1, 2, 3],
    [9, 0, 6],
    [4.5, 5, 0],
  ];

  beforeAll(async () => {
    bus = createTestBus({ brokers, clientId: 'ml-it' });
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const grpcPort = await freePort();
    const kafka = { KAFKA_BROKERS: brokers.join(',') };
    // The trainer signs with its private key; the predictor trusts only the public half. The shared
    // topic may hold versions other runs signed with their own keys: this predictor refuses those.
    const keys = generateKeyPairSync('ed25519');
    const keyDir = mkdtempSync(join(tmpdir(), 'ml-it-keys-'));
    writeFileSync(join(keyDir, 'trainer.pem'), keys.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(keyDir, 'trainer.pub.pem'), keys.publicKey.export({ type: 'spki', format: 'pem' }));
    predictorEnv = { GRPC_PORT: String(grpcPort), GRPC_HOST: '127.0.0.1', GRPC_DRAIN_MS: '1000', ML_VERIFY_KEYS_FILE: join(keyDir, 'trainer.pub.pem') };
    [trainer, predictor] = await Promise.all([
      // Keep 2 versions: the retention test's new version withdraws the older ones.
      spawnApp('ml-trainer', { ML_TRAINER_GROUP_ID: uniqueName('it-trainer'), ML_PROGRESS_INTERVAL_MS: '100', ML_SIGNING_KEY_FILE: join(keyDir, 'trainer.pem'), ML_REGISTRY_KEEP_VERSIONS: '2' }),
      spawnApp('ml-predictor', predictorEnv),
    ]);
    await Promise.all([trainer.ready(90_000), predictor.ready(90_000)]);
    gatewayBus = createTestBus({ brokers, clientId: 'ml-it-gateway' });
    gateway = await startService(createGateway, readGatewayConfig({ ...kafka, HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent', PREDICTOR_GRPC_ADDR: `127.0.0.1:${grpcPort}` }), gatewayBus);
    url = `http://127.0.0.1:${gateway.port}`;
    grpc = createPredictorClient(`127.0.0.1:${grpcPort}`, { defaultTimeoutMs: 2_000 });
    await bus.publishBatch(
      grid.map((r, i) => ({
        topic: 'events.devices',
        key: 'it-device',
        timestampMs: base + i,
        value: JSON.stringify({ id: `e${i}`, topic: 'events.devices', type: 'devices', timestamp: new Date(base + i).toISOString(), source: 'it', key: 'it-device', schema_version: 1, payload: { device_id: 'it-device', reading: 'load', value: 3 * r.a - 2 * r.b + r.c, attributes: r } }),
      })),
    );
  });
  afterAll(async () => {
    grpc?.close();
    await gateway?.stop();
    await gatewayBus?.close();
    await Promise.all([trainer?.kill(), predictor?.kill()]);
    await bus?.close();
  });

  it('trains from events on a topic, then REST and gRPC predict exactly what the decoded model predicts in-process', async () => {
    const job = await train({
      model_name: name,
      model_type: 'random_forest',
      feature_keys: ['attributes.a', 'attributes.b', 'attributes.c'],
      target_key: 'value',
      source: { topic: 'events.devices', from: base, to: base + 300 },
      params: { nEstimators: 20, maxDepth: 6, seed: 7 },
    });
    expect(job).toMatchObject({ status: 'succeeded', progress: 1, model_name: name, model_type: 'random_forest', model_version: 1, rows: 300 });
    const expected = Array.from((await reference(1)).predict(Float64Array.from(rows.flat()), 3));
    await waitFor(async () => (await post(`${url}/pipeline/ml/predict`, { model_name: name, features: rows })).status === 200, { timeoutMs: 30_000, what: 'model loaded' });
    const rest = await post(`${url}/pipeline/ml/predict`, { model_name: name, features: rows });
    expect([rest.status, rest.json]).toEqual([200, { predictions: expected, model_name: name, model_version: 1 }]);
    const byName = await post(`${url}/pipeline/ml/predict`, { model_name: name, rows: rows.map(([a, b, c]) => ({ 'attributes.c': c, 'attributes.a': a, 'attributes.b': b })) });
    expect(byName.json.predictions).toEqual(expected);
    const g = await grpc.predict({ modelName: name, values: rows.flat(), nFeatures: 3 });
    expect(g).toEqual({ predictions: expected, modelName: name, modelVersion: 1 });
    const details = await httpRequest(`${url}/pipeline/ml/models/${name}`);
    expect(details.json).toMatchObject({ name, version: 1, type: 'random_forest', feature_keys: ['attributes.a', 'attributes.b', 'attributes.c'], metrics: job.metrics });
    expect(Object.keys(details.json.feature_importances).sort()).toEqual(['attributes.a', 'attributes.b', 'attributes.c']);
    const list = await httpRequest(`${url}/pipeline/ml/models`);
    expect(list.json.models).toContain(name);
  });

  it('hot-swaps to a second version while predictions run, with zero failed requests', async () => {
    let stop = false;
    const seen = new Set<number>();
    const failures: string[] = [];
    let calls = 0;
    const loop = async (rest: boolean) => {
      while (!stop) {
        calls++;
        try {
          if (rest) {
            const r = await post(`${url}/pipeline/ml/predict`, { model_name: name, features: [rows[0]] });
            if (r.status !== 200) failures.push(`REST ${r.status} ${r.text}`);
            else seen.add(r.json.model_version as number);
          } else {
            seen.add((await grpc.predict({ modelName: name, values: rows[0], nFeatures: 3 })).modelVersion);
          }
        } catch (e) {
          failures.push(`gRPC ${(e as Error).message}`);
        }
      }
    };
    const load = [loop(false), loop(false), loop(true)];
    const data = grid.map((r) => ({ ...r, y: r.a + r.b + r.c }));
    const job = await train({ model_name: name, model_type: 'linear_regression', feature_keys: ['a', 'b', 'c'], target_key: 'y', data });
    expect([job.status, job.model_version]).toEqual(['succeeded', 2]);
    await waitFor(() => seen.has(2), { timeoutMs: 30_000, what: 'version 2 served' });
    stop = true;
    await Promise.all(load);
    expect({ failures, versions: [...seen].sort() }).toEqual({ failures: [], versions: [1, 2] });
    expect(calls).toBeGreaterThan(20);
    // Every version (both of this model, and any the shared registry topic holds) was decoded in
    // the predictor's decode worker, none on its event loop.
    const metrics = await predictor.metrics();
    const decoded = /^pipeline_ml_model_load_duration_seconds_count\{[^}]*thread="worker"[^}]*\} (\d+)$/m.exec(metrics);
    expect(Number(decoded?.[1])).toBeGreaterThanOrEqual(2);
    expect(/^pipeline_ml_model_load_duration_seconds_count\{[^}]*thread="main"[^}]*\} (\d+)$/m.exec(metrics)?.[1]).toBe('0');
  });

  it('serves the latest version from a predictor restarted alone', async () => {
    await predictor.kill();
    predictor = await spawnApp('ml-predictor', predictorEnv);
    await predictor.ready(90_000);
    const expected = Array.from((await reference(2)).predict(Float64Array.from(rows.flat()), 3));
    const g = await grpc.predict({ modelName: name, values: rows.flat(), nFeatures: 3 });
    expect(g).toEqual({ predictions: expected, modelName: name, modelVersion: 2 });
    const v1 = await grpc.predict({ modelName: name, version: 1, values: rows[0], nFeatures: 3 });
    expect(v1.modelVersion).toBe(1);
  });

  it('refuses and counts a version written on pipeline.ml.models by anyone but the trainer, and Predict keeps answering with the one it had', async () => {
    const refused = async () => Number(/^pipeline_ml_models_rejected_total\{[^}]*reason="unsigned"[^}]*\} (\d+)$/m.exec(await predictor.metrics())?.[1]);
    const before = await refused();
    // Version 3 written straight to the topic (as kcat would), predicting −9999.99 for every row.
    const forged = encodeModel(
      trainModel({ modelName: name, modelType: 'linear_regression', featureKeys: ['a', 'b', 'c'], targetKey: 'y', rows: grid.map((r) => ({ ...r, y: -9999.99 })), version: 3, trainedAt: new Date().toISOString(), params: { testFraction: 0 } }),
    );
    await bus.publish({ topic: INTERNAL_TOPICS.mlModels, key: `model/${name}/3/chunk/0`, value: Buffer.from(forged) });
    const manifest = { name, version: 3, sha256: createHash('sha256').update(forged).digest('hex'), size: forged.length, chunks: 1, chunkBytes: forged.length, publishedAt: new Date().toISOString(), metadata: {} };
    await bus.publish({ topic: INTERNAL_TOPICS.mlModels, key: `model/${name}/3`, value: JSON.stringify(manifest) });
    await waitFor(async () => (await refused()) === before + 1, { timeoutMs: 30_000, what: 'the unsigned version counted as refused' });
    const expected = Array.from((await reference(2)).predict(Float64Array.from(rows.flat()), 3));
    expect(await grpc.predict({ modelName: name, values: rows.flat(), nFeatures: 3 })).toEqual({ predictions: expected, modelName: name, modelVersion: 2 });
    await expect(grpc.predict({ modelName: name, version: 3, values: rows[0], nFeatures: 3 })).rejects.toMatchObject({ code: status.NOT_FOUND });
  });

  it('answers bad requests with clear errors and stays up', async () => {
    const grpcFailure = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code: number; details: string }) => [e.code, e.details]);
    expect(await grpcFailure(grpc.predict({ modelName: 'no-such-model', values: [1, 2, 3], nFeatures: 3 }))).toEqual([status.NOT_FOUND, 'model "no-such-model" not found']);
    expect(await grpcFailure(grpc.predict({ modelName: name, values: [1, 2], nFeatures: 2 }))).toEqual([status.INVALID_ARGUMENT, `n_features must be 3 (the feature count of model "${name}" version 2), got 2`]);
    expect(await grpcFailure(grpc.predict({ modelName: name, values: [1, NaN, 3], nFeatures: 3 }))).toEqual([status.INVALID_ARGUMENT, 'values[1] (row 0, feature "b") must be a finite number, got NaN']);
    const cases: Array<[unknown, number, string, string]> = [
      [{ model_name: 'no-such-model', features: [[1, 2, 3]] }, 404, 'model_not_found', 'model "no-such-model" not found'],
      [{ model_name: name, features: [[1, 2]] }, 400, 'invalid_request', `n_features must be 3 (the feature count of model "${name}" version 2), got 2`],
      [{ model_name: name, features: [[1, 2, 3], [1, 2]] }, 400, 'invalid_request', 'features[1] has 2 values, expected 3 like features[0]'],
      [{ model_name: name, features: [[1, null, 3]] }, 400, 'invalid_request', 'features[0][1] must be number, got null'],
      [`{"model_name":"${name}","features":[[1,NaN,3]]}`, 400, 'invalid_json', ''],
      [{ model_name: name, features: [] }, 400, 'invalid_request', 'features must have at least 1 item, got 0'],
      [{ model_name: name, rows: [{ a: 1, b: 2 }] }, 400, 'invalid_request', `rows[0].c is required (model "${name}" version 2 features: a, b, c)`],
      [{ model_name: name }, 400, 'invalid_request', 'give exactly one of features (arrays of numbers) or rows (objects keyed by feature name)'],
    ];
    for (const [body, code, errCode, message] of cases) {
      const r = await post(`${url}/pipeline/ml/predict`, body);
      expect([r.status, r.json.error.code, message ? r.json.error.message : '']).toEqual([code, errCode, message]);
    }
    const huge = JSON.stringify({ model_name: name, features: Array.from({ length: 400_000 }, () => [1.2345678, 2.3456789, 3.4567891]) });
    expect(huge.length).toBeGreaterThan(10 * 1024 * 1024);
    const tooBig = await post(`${url}/pipeline/ml/predict`, huge);
    expect([tooBig.status, tooBig.json.error]).toEqual([413, { code: 'payload_too_large', message: 'request body exceeds the limit of 10485760 bytes' }]);
    const bad = await post(`${url}/pipeline/ml/train`, { model_name: name, model_type: 'kmeans', feature_keys: ['a'], data: [{ a: 1 }], source: { topic: 'events.devices' }, params: { nClusters: 1 } });
    expect([bad.status, bad.json.error]).toEqual([400, { code: 'invalid_request', message: 'give either data or source, not both' }]);
    // Inline rows are checked at the door with the trainer's own rule: 400, not 202 and a failed job.
    const nonNumeric = await post(`${url}/pipeline/ml/train`, { model_name: name, model_type: 'linear_regression', feature_keys: ['a'], target_key: 'y', data: [{ a: 1, y: 'x' }] });
    expect([nonNumeric.status, nonNumeric.json.error]).toEqual([400, { code: 'invalid_request', message: 'data[0].y must be a finite number or a decimal string, got "x"' }]);
    const ok = await grpc.predict({ modelName: name, values: rows[0], nFeatures: 3 });
    expect(ok.modelVersion).toBe(2);
  });

  it('ignores and counts a forged tombstone of the served version\'s manifest, and the trainer\'s signed retention still withdraws old versions', async () => {
    const counted = async (reason: string) => Number(new RegExp(`^pipeline_ml_models_rejected_total\\{[^}]*reason="${reason}"[^}]*\\} (\\d+)$`, 'm').exec(await predictor.metrics())?.[1]);
    const before = await counted('unsigned_withdrawal');
    const v2 = Array.from((await reference(2)).predict(Float64Array.from(rows.flat()), 3));
    // An empty value on version 2's manifest key, written straight to the topic (as kcat -Z would).
    await bus.publish({ topic: INTERNAL_TOPICS.mlModels, key: `model/${name}/2`, value: '' });
    await waitFor(async () => (await counted('unsigned_withdrawal')) === before + 1, { timeoutMs: 30_000, what: 'the forged tombstone counted as unsigned_withdrawal' });
    expect(await grpc.predict({ modelName: name, values: rows.flat(), nFeatures: 3 })).toEqual({ predictions: v2, modelName: name, modelVersion: 2 });
    expect((await grpc.predict({ modelName: name, version: 2, values: rows[0], nFeatures: 3 })).modelVersion).toBe(2);

    // A new version through the trainer: version 4 (the forged version 3 above counts for numbering),
    // and ML_REGISTRY_KEEP_VERSIONS=2 withdraws versions 1 and 2 with signed withdrawals.
    const job = await train({ model_name: name, model_type: 'linear_regression', feature_keys: ['a', 'b', 'c'], target_key: 'y', data: grid.map((r) => ({ ...r, y: 2 * r.a + r.c })) });
    expect([job.status, job.model_version]).toEqual(['succeeded', 4]);
    await waitFor(async () => (await grpc.predict({ modelName: name, values: rows[0], nFeatures: 3 })).modelVersion === 4, { timeoutMs: 30_000, what: 'version 4 served' });
    for (const version of [1, 2]) {
      await waitFor(() => grpc.predict({ modelName: name, version, values: rows[0], nFeatures: 3 }).then(() => false, (e: { code: number }) => e.code === status.NOT_FOUND), { timeoutMs: 30_000, what: `version ${version} withdrawn` });
    }
    // The retention's own tombstones follow its signed withdrawals: none of them was refused.
    expect(await counted('unsigned_withdrawal')).toBe(before + 1);
  });

  it('trains in a worker thread', async () => {
    const pid = trainer.pid;
    // The trainer's worker threads seen while the job ran.
    const seen = new Set<number>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const t of threadsOf(pid)) if (t.comm === 'WorkerThread') seen.add(t.tid);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const data = Array.from({ length: 3000 }, (_, i) => ({ a: i % 17, b: (i * 7) % 13, c: i % 5, y: (i % 17) - ((i * 7) % 13) }));
    const job = await train({ model_name: uniqueName('it-worker'), model_type: 'random_forest', feature_keys: ['a', 'b', 'c'], target_key: 'y', data });
    sampling = false;
    await sampler;
    expect(job.status).toBe('succeeded');
    expect(seen.size).toBe(1);
  });
});

import { INTERNAL_TOPICS, MlTrainRequestSchema } from '@pipeline/contracts';
import { InMemoryBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { startService, type RunningService } from '@pipeline/service-runtime';
import { httpRequest } from '@pipeline/testing';
import { createGateway, readGatewayConfig } from '../index';

const rows = Array.from({ length: 4 }, (_, i) => ({ cpu: i, mem: 2 * i, latency: 3 * i }));
const forest = { model_name: 'm', model_type: 'random_forest', feature_keys: ['cpu', 'mem'], target_key: 'latency', data: rows };
const kmeans = { model_name: 'm', model_type: 'kmeans', feature_keys: ['cpu', 'mem'], data: rows };
const forestParams = 'seed, testFraction, scale, nEstimators, maxDepth, minSamplesLeaf, minSamplesSplit, maxFeatures, bootstrap, maxBins';

describe('POST /pipeline/ml/train refuses at the door what the training job would fail on (gateway, in-memory bus)', () => {
  const bus = new InMemoryBus({ defaultPartitions: 3 });
  let gateway: RunningService;
  let url: string;
  const post = (body: unknown) => httpRequest(`${url}/pipeline/ml/train`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  beforeAll(async () => {
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    gateway = await startService(createGateway, readGatewayConfig({ HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent' }, { requireBrokers: false }), bus);
    url = `http://127.0.0.1:${gateway.port}`;
  });
  afterAll(async () => {
    await gateway.stop();
    await bus.close();
  });

  it('answers 400 naming the field and the limit for bad params, keys and source ranges, and queues no job (was 202, then a failed job)', async () => {
    const cases: Array<[unknown, string]> = [
      [{ ...kmeans, params: { nClusters: -2 } }, 'params.nClusters must be at least 1, got -2'],
      [{ ...kmeans, data: Array.from({ length: 2_000 }, () => rows[0]), params: { nClusters: 1_001 } }, 'params.nClusters must be at most 1000, got 1001'],
      [{ ...kmeans, params: { nClusters: '3' } }, 'params.nClusters must be integer, got "3"'],
      [{ ...kmeans, params: { nClusters: 5 } }, 'params.nClusters must be at most the 4 rows of data, got 5'],
      [{ ...kmeans, model_type: 'isolation_forest', params: { contamination: 0 } }, 'params.contamination must be greater than 0, got 0'],
      [{ ...kmeans, model_type: 'isolation_forest', params: { contamination: 0.9 } }, 'params.contamination must be at most 0.5, got 0.9'],
      [{ ...forest, params: { nEstimators: 1e9 } }, 'params.nEstimators must be at most 1000, got 1000000000'],
      [{ ...forest, params: { maxDepth: 1e6 } }, 'params.maxDepth must be at most 32, got 1000000'],
      [{ ...forest, params: { testFraction: 1.5 } }, 'params.testFraction must be at most 0.9, got 1.5'],
      [{ ...forest, params: { trees: 10 } }, `params.trees is not an allowed field (allowed: ${forestParams})`],
      [`{"model_name":"m","model_type":"random_forest","feature_keys":["cpu"],"target_key":"latency","data":[{"cpu":1,"latency":2}],"params":{"__proto__":{"nEstimators":1}}}`, `params.__proto__ is not an allowed field (allowed: ${forestParams})`],
      [{ ...forest, feature_keys: ['cpu', 'mem', 'cpu'] }, 'feature_keys[2] repeats "cpu": items must be unique'],
      [{ ...forest, feature_keys: ['cpu', 'latency'] }, 'target_key "latency" must not also be one of feature_keys'],
      [{ ...forest, data: [...rows, { cpu: 'abc', mem: 1, latency: 2 }] }, 'data[4].cpu must be a finite number or a decimal string, got "abc"'],
      [{ ...forest, data: [{ cpu: 1, mem: 1 }] }, 'data[0].latency must be a finite number or a decimal string, got undefined (missing)'],
      [{ ...kmeans, data: [{ cpu: 1, mem: null }], params: { nClusters: 1 } }, 'data[0].mem must be a finite number or a decimal string, got null'],
      [
        { ...forest, data: undefined, source: { topic: 'events.devices', from: '2026-12-02T00:00:00Z', to: '2026-12-01T00:00:00Z' } },
        'source.from must be before source.to, got 2026-12-02T00:00:00.000Z ≥ 2026-12-01T00:00:00.000Z',
      ],
      [{ ...forest, data: undefined, source: { topic: 'events.devices', from: '2026-02-30T00:00:00Z' } }, 'source.from must be an ISO-8601 date-time with a zone or epoch milliseconds, got "2026-02-30T00:00:00Z"'],
      [{ ...forest, data: undefined, source: { topic: 'events.devices', filter: { reading: ['a'] } } }, 'source.filter.reading must be a string or a number or a boolean, got ["a"]'],
    ];
    for (const [body, message] of cases) {
      const r = await post(body);
      expect([message, r.status, r.json]).toEqual([message, 400, { error: { code: 'invalid_request', message } }]);
    }
    expect(bus.messages(INTERNAL_TOPICS.mlCommands)).toEqual([]);
  });

  it('refuses a source.from in the future when source.to defaults to now', async () => {
    const from = new Date(Date.now() + 3_600_000).toISOString();
    const r = await post({ ...forest, data: undefined, source: { topic: 'events.devices', from } });
    expect([r.status, r.json.error.message]).toEqual([400, expect.stringMatching(/^source\.from must be before now \(source\.to defaults to the job start\), got /)]);
  });

  it('queues a valid request with a source filter', async () => {
    const r = await post({ ...forest, data: undefined, source: { topic: 'events.devices', filter: { reading: 'cpu_load', device_id: 'd1' } }, params: { nEstimators: 1000, maxDepth: 32 } });
    expect([r.status, r.json.status]).toEqual([202, 'queued']);
  });

  it('serves the validator’s own schema as the request body in /openapi.json', async () => {
    const doc = (await httpRequest(`${url}/openapi.json`)).json;
    const served = doc.paths['/pipeline/ml/train'].post.requestBody.content['application/json'].schema;
    expect(served).toEqual(JSON.parse(JSON.stringify(MlTrainRequestSchema, (k, v) => (k === '$id' ? undefined : v))));
  });
});

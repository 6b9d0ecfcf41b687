import { createHash } from 'node:crypto';
import { InMemoryBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { startService, type RunningService } from '@pipeline/service-runtime';
import { httpRequest } from '@pipeline/testing';
import { createGateway, readGatewayConfig } from '../index';

const principal = (key: string) => `key:${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;

describe('job ownership with scoped API keys (gateway on a real HTTP port, in-memory bus)', () => {
  const bus = new InMemoryBus({ defaultPartitions: 3 });
  let gateway: RunningService;
  let base: string;
  const call = async (key: string, method: string, path: string, body?: unknown) => {
    const r = await httpRequest(`${base}${path}`, { method, headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.status, json: r.json };
  };
  const batchJob = { operation: 'process_batch', source: { topic: 'events.metrics', from: 0, to: 1_000 } };
  const train = (model_name: string) => ({ model_name, model_type: 'kmeans', feature_keys: ['a'], data: [{ a: 1 }, { a: 2 }], params: { nClusters: 1 } });

  beforeAll(async () => {
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    // No batch-processor or trainer: the jobs stay queued, which is all ownership needs.
    const env = { HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent', API_KEYS: 'alice-key:batch+train,bob-key:batch+train,ops-key', INGEST_URL: 'http://127.0.0.1:9', SYNC_WAIT_MS: '0' };
    gateway = await startService(createGateway, readGatewayConfig(env, { requireBrokers: false }), bus);
    base = `http://127.0.0.1:${gateway.port}/pipeline`;
  });
  afterAll(async () => {
    await gateway.stop();
    await bus.close();
  });

  it('shows a batch job to the key that submitted it and to admin keys only: another key gets 404 for it and does not see it listed', async () => {
    const submitted = await call('alice-key', 'POST', '/spark/process', batchJob);
    expect(submitted.status).toBe(202);
    const id = submitted.json.job_id as string;
    const own = await call('alice-key', 'GET', `/spark/jobs/${id}`);
    expect([own.status, own.json.owner]).toEqual([200, principal('alice-key')]);
    const listed = async (key: string) => ((await call(key, 'GET', '/spark/jobs')).json.jobs as Array<{ job_id: string }>).map((j) => j.job_id);
    expect(await listed('alice-key')).toContain(id);
    expect(await listed('bob-key')).not.toContain(id);
    expect(await listed('ops-key')).toContain(id);
    const notFound = { error: { code: 'job_not_found', message: `no batch job with id "${id}"` } };
    expect(await call('bob-key', 'GET', `/spark/jobs/${id}`)).toEqual({ status: 404, json: notFound });
    expect(await call('bob-key', 'DELETE', `/spark/jobs/${id}`)).toEqual({ status: 404, json: notFound });
    expect((await call('ops-key', 'GET', `/spark/jobs/${id}`)).status).toBe(200);
  });

  it('lets only the key that trained a model name, or an admin key, train it again; a training job is shown to its key and admin keys only', async () => {
    const first = await call('alice-key', 'POST', '/ml/train', train('owned-model'));
    expect(first.status).toBe(202);
    expect(await call('bob-key', 'POST', '/ml/train', train('owned-model'))).toEqual({
      status: 403,
      json: { error: { code: 'forbidden', message: 'model_name "owned-model" is trained by another API key; choose another name or use an admin key' } },
    });
    expect((await call('alice-key', 'POST', '/ml/train', train('owned-model'))).status).toBe(202);
    expect((await call('bob-key', 'POST', '/ml/train', train('bobs-model'))).status).toBe(202);
    expect((await call('ops-key', 'POST', '/ml/train', train('owned-model'))).status).toBe(202);
    const id = first.json.job_id as string;
    const own = await call('alice-key', 'GET', `/ml/jobs/${id}`);
    expect([own.status, own.json.owner]).toEqual([200, principal('alice-key')]);
    expect((await call('bob-key', 'GET', `/ml/jobs/${id}`)).status).toBe(404);
    expect((await call('ops-key', 'GET', `/ml/jobs/${id}`)).status).toBe(200);
  });
});

import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { InMemoryBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { HttpError, startService } from '@pipeline/service-runtime';
import { httpRequest } from '@pipeline/testing';
import { createGateway, readGatewayConfig } from './index';
import { ClientBuckets, apiKeyAuth, parseApiKeys, rateLimit, scopeOf } from './auth';

/** Runs auth then the limiter, as the gateway wires them, on a bare request; the status it ends with (200 = passed). */
function chain(handlers: RequestHandler[]) {
  return (headers: Record<string, string>, ip = '10.0.0.1'): number => {
    const req = { headers, ip } as unknown as Request;
    const res = { locals: {}, req } as unknown as Response;
    for (const h of handlers) {
      let err: unknown = 'not called';
      h(req, res, ((e?: unknown) => (err = e)) as NextFunction);
      if (err === 'not called') throw new Error('handler did not call next');
      if (err instanceof HttpError) return err.status;
      if (err !== undefined) throw err;
    }
    return 200;
  };
}

describe('rate limiting after auth, per resolved client', () => {
  const key = 'k-0123456789abcdef';
  let t = 0;
  const now = () => t;
  beforeEach(() => (t = 1_000_000));

  it('counts one key in any header spelling as one client: 10 spellings get the same 4 of 20 as one', () => {
    const spellings: Array<Record<string, string>> = [
      { authorization: `Bearer ${key}` },
      { authorization: `bearer ${key}` },
      { authorization: `BEARER ${key}` },
      { authorization: `Bearer    ${key}` },
      { authorization: `Bearer ${key}  ` },
      { authorization: `Bearer\t${key}` },
      { 'x-api-key': key },
      { 'x-api-key': ` ${key}` },
      { 'x-api-key': `${key} ` },
      { authorization: `bEaReR ${key}` },
    ];
    const oneSpelling = chain([apiKeyAuth(parseApiKeys([key])), rateLimit(2, { now })]);
    const one = Array.from({ length: 20 }, () => oneSpelling(spellings[0]!));
    const tenSpellings = chain([apiKeyAuth(parseApiKeys([key])), rateLimit(2, { now })]);
    const ten = Array.from({ length: 20 }, (_, i) => tenSpellings(spellings[i % 10]!));
    expect(one.filter((s) => s === 200)).toHaveLength(4);
    expect(ten).toEqual(one);
  });

  it('refuses 100,000 made-up keys with 401 before the limiter, and the limited client stays limited', () => {
    const run = chain([apiKeyAuth(parseApiKeys([key, 'other-key'])), rateLimit(2, { now, maxClients: 100 })]);
    const honest = { authorization: `Bearer ${key}` };
    expect(Array.from({ length: 5 }, () => run(honest))).toEqual([200, 200, 200, 200, 429]);
    const statuses = new Map<number, number>();
    for (let i = 0; i < 100_000; i++) {
      const s = run({ 'x-api-key': `made-up-${i}` });
      statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
    expect([...statuses]).toEqual([[401, 100_000]]);
    expect(run(honest)).toBe(429);
    expect(run({ 'x-api-key': 'other-key' })).toBe(200); // the other key is its own client
  });

  it('limits anonymous clients per IP when auth is off, whatever key header they send', () => {
    const run = chain([apiKeyAuth(parseApiKeys([])), rateLimit(1, { now })]);
    expect([run({ 'x-api-key': 'a' }, '10.0.0.1'), run({ 'x-api-key': 'b' }, '10.0.0.1'), run({ authorization: 'Bearer c' }, '10.0.0.1')]).toEqual([200, 200, 429]);
    expect(run({}, '10.0.0.2')).toBe(200);
  });
});

describe('ClientBuckets', () => {
  let t = 0;
  const now = () => t;
  beforeEach(() => (t = 0));

  it('never holds more than maxClients buckets under a flood of distinct clients', () => {
    const b = new ClientBuckets(5, 1_000, now);
    for (let i = 0; i < 100_000; i++) {
      t += 1;
      b.take(`ip:${i}`);
    }
    expect(b.size).toBe(1_000);
  });

  it('keeps a recently seen client’s empty bucket through a flood: newcomers share the overflow bucket', () => {
    const b = new ClientBuckets(2, 3, now);
    expect(Array.from({ length: 5 }, () => b.take('honest'))).toEqual([true, true, true, true, false]);
    b.take('x');
    b.take('y');
    t += 100;
    const flood = Array.from({ length: 1_000 }, (_, i) => b.take(`made-up-${i}`));
    expect(flood.filter(Boolean)).toHaveLength(4); // one shared burst
    expect(b.take('honest')).toBe(false); // 100 ms refilled 0.2 of a token: still empty
    t += 500;
    expect(b.take('honest')).toBe(true); // 600 ms: 1.2 tokens, its own bucket kept
  });

  it('evicts the least recently seen bucket once it has refilled to the burst (the same as no bucket)', () => {
    const b = new ClientBuckets(2, 2, now);
    b.take('a');
    t += 10;
    b.take('b');
    t += 2_000; // a refilled
    expect(b.take('c')).toBe(true);
    expect(b.size).toBe(2);
    // b (seen 2 s ago, drew one token) refilled too: evicted for d
    expect(b.take('d')).toBe(true);
    // c and d were just seen; e shares the overflow bucket and c keeps its state
    expect(Array.from({ length: 5 }, () => b.take('e'))).toEqual([true, true, true, true, false]);
    expect(Array.from({ length: 4 }, () => b.take('c'))).toEqual([true, true, true, false]);
  });
});

describe('the gateway limits after auth (HTTP)', () => {
  it('serves at most the burst to one key sent in 10 header spellings, and answers made-up keys 401', async () => {
    const bus = new InMemoryBus({ defaultPartitions: 3 });
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const env = { HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent', API_KEYS: 'k-one,k-two', RATE_LIMIT_PER_SEC: '1', INGEST_URL: 'http://127.0.0.1:9' };
    const gateway = await startService(createGateway, readGatewayConfig(env, { requireBrokers: false }), bus);
    try {
      const url = `http://127.0.0.1:${gateway.port}/pipeline/rates`;
      const spellings: Array<Record<string, string>> = ['Bearer k-one', 'bearer k-one', 'BEARER k-one', 'Bearer  k-one', 'Bearer k-one ', 'bEARER k-one'].map((a) => ({ authorization: a }));
      spellings.push({ 'x-api-key': 'k-one' }, { 'x-api-key': ' k-one' }, { 'x-api-key': 'k-one ' }, { 'x-api-key': '  k-one' });
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push((await httpRequest(url, { headers: spellings[i % 10]! })).status);
      // burst 2 at 1/s: 2 served (3 if the 20 requests took over a second), the rest 429
      expect(statuses.filter((s) => s !== 429).length).toBeLessThanOrEqual(3);
      expect((await httpRequest(url, { headers: { 'x-api-key': 'made-up' } })).status).toBe(401);
      expect((await httpRequest(url, { headers: { 'x-api-key': 'k-two' } })).status).toBe(200);
    } finally {
      await gateway.stop();
      await bus.close();
    }
  });
});

describe('scoped API keys', () => {
  it('reads API_KEYS entries as <key> (every scope) or <key>:<scope>+<scope>, and names a bad entry by place, not by key', () => {
    const [all, two] = parseApiKeys(['plain-key', 'k-2:ingest+read']);
    expect([all!.key, [...all!.scopes].sort(), two!.key, [...two!.scopes].sort()]).toEqual(['plain-key', ['admin', 'batch', 'ingest', 'predict', 'read', 'train'], 'k-2', ['ingest', 'read']]);
    const rule = 'must be <key>[:<scope>+<scope>…][:series=<n>] with scopes among read, ingest, predict, train, batch, admin and n a whole number of series (0: unlimited)';
    expect(() => parseApiKeys(['ok', 'secret-value:ingest+root'])).toThrow(`API_KEYS entry 2 ${rule}, got "root"`);
    expect(() => parseApiKeys([':read'])).toThrow(`API_KEYS entry 1 ${rule}, got an empty key`);
  });

  it('reads a series quota from :series=<n> after the key or its scopes, else API_KEY_MAX_SERIES; 0 is unlimited', () => {
    const keys = parseApiKeys(['a', 'b:ingest+read', 'c:series=5', 'd:ingest:series=7', 'e:series=0'], { defaultMaxSeries: 100 });
    expect(keys.map((k) => [k.key, [...k.scopes].sort().join('+'), k.maxSeries])).toEqual([
      ['a', 'admin+batch+ingest+predict+read+train', 100],
      ['b', 'ingest+read', 100],
      ['c', 'admin+batch+ingest+predict+read+train', 5],
      ['d', 'ingest', 7],
      ['e', 'admin+batch+ingest+predict+read+train', undefined],
    ]);
    expect(parseApiKeys(['a', 'b:series=3']).map((k) => k.maxSeries)).toEqual([undefined, 3]);
    const rule = 'must be <key>[:<scope>+<scope>…][:series=<n>] with scopes among read, ingest, predict, train, batch, admin and n a whole number of series (0: unlimited)';
    expect(() => parseApiKeys(['k:ingest:series=-1'])).toThrow(`API_KEYS entry 1 ${rule}, got "series=-1"`);
    expect(() => parseApiKeys(['k:series=5:ingest'])).toThrow(`API_KEYS entry 1 ${rule}, got "ingest"`);
    expect(() => parseApiKeys(['k:ingest:read'])).toThrow(`API_KEYS entry 1 ${rule}, got "read"`);
  });

  it('maps each route of the REST surface to the scope it needs; anything unlisted needs admin', () => {
    const routes: Array<[string, string]> = [
      ['POST', '/events'],
      ['POST', '/aggregate'],
      ['GET', '/stats/latency'],
      ['GET', '/all-stats'],
      ['GET', '/topk/error_type'],
      ['GET', '/rates'],
      ['GET', '/ml/models'],
      ['HEAD', '/ml/models/m'],
      ['POST', '/ml/predict'],
      ['POST', '/ml/cluster'],
      ['POST', '/ml/anomalies'],
      ['POST', '/ml/train'],
      ['GET', '/ml/jobs/j1'],
      ['DELETE', '/ml/jobs/j1'],
      ['POST', '/ml/jobs/j1/other'],
      ['POST', '/spark/process'],
      ['GET', '/spark/jobs'],
      ['GET', '/spark/jobs/j2'],
      ['DELETE', '/spark/jobs/j2'],
      ['GET', '/spark/status'],
      ['DELETE', '/ml/models/m'],
      ['PUT', '/aggregate'],
    ];
    expect(routes.map(([m, p]) => `${m} ${p} ${scopeOf(m, p)}`)).toEqual([
      'POST /events ingest',
      'POST /aggregate ingest',
      'GET /stats/latency read',
      'GET /all-stats read',
      'GET /topk/error_type read',
      'GET /rates read',
      'GET /ml/models read',
      'HEAD /ml/models/m read',
      'POST /ml/predict predict',
      'POST /ml/cluster predict',
      'POST /ml/anomalies predict',
      'POST /ml/train train',
      'GET /ml/jobs/j1 train',
      'DELETE /ml/jobs/j1 train',
      'POST /ml/jobs/j1/other admin',
      'POST /spark/process batch',
      'GET /spark/jobs batch',
      'GET /spark/jobs/j2 batch',
      'DELETE /spark/jobs/j2 batch',
      'GET /spark/status read',
      'DELETE /ml/models/m admin',
      'PUT /aggregate admin',
    ]);
  });

  it('answers 403 naming the missing scope to a key without it, and serves the routes its scopes cover (HTTP)', async () => {
    const bus = new InMemoryBus({ defaultPartitions: 3 });
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const env = { HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent', API_KEYS: 'producer-key:ingest,reader-key:read,admin-key', INGEST_URL: 'http://127.0.0.1:9' };
    const gateway = await startService(createGateway, readGatewayConfig(env, { requireBrokers: false }), bus);
    const base = `http://127.0.0.1:${gateway.port}/pipeline`;
    const call = async (key: string, method: string, path: string, body?: unknown) => {
      const r = await httpRequest(`${base}${path}`, { method, headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return r.status === 403 ? `403 ${r.json.error.message}` : r.status;
    };
    const metric = { metric_name: 'scoped', value: 1 };
    const train = { model_name: 'm', model_type: 'kmeans', feature_keys: ['a'], data: [{ a: 1 }, { a: 2 }], params: { nClusters: 1 } };
    try {
      expect([
        await call('producer-key', 'POST', '/aggregate', metric),
        await call('producer-key', 'GET', '/rates'),
        await call('producer-key', 'POST', '/ml/train', train),
        await call('reader-key', 'GET', '/rates'),
        await call('reader-key', 'POST', '/aggregate', metric),
        await call('reader-key', 'GET', '/spark/jobs'),
        await call('admin-key', 'POST', '/aggregate', metric),
        await call('admin-key', 'GET', '/rates'),
        await call('admin-key', 'POST', '/ml/train', train),
      ]).toEqual([
        202,
        '403 this API key lacks the "read" scope that GET /pipeline/rates needs',
        '403 this API key lacks the "train" scope that POST /pipeline/ml/train needs',
        200,
        '403 this API key lacks the "ingest" scope that POST /pipeline/aggregate needs',
        '403 this API key lacks the "batch" scope that GET /pipeline/spark/jobs needs',
        202,
        200,
        202,
      ]);
    } finally {
      await gateway.stop();
      await bus.close();
    }
  });
});

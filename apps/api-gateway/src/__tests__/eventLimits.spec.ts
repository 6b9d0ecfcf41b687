import { deflateSync, gzipSync } from 'node:zlib';
import { InMemoryBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { startService, type RunningService } from '@pipeline/service-runtime';
import { httpRequest } from '@pipeline/testing';
import { createIngest, readIngestConfig } from '../../../ingest/src/index';
import { createGateway, readGatewayConfig } from '../index';

const MiB = 1024 * 1024;
const event = JSON.stringify({ topic: 'events.metrics', payload: { metric_name: 'limits_test', value: 1 } });
/** `[1,1,…]` of `n` items, as text. */
const ones = (n: number) => `[${'1,'.repeat(n - 1)}1]`;

/** Issue 21: the work and the answer of one POST /pipeline/events (and /v1/events) are bounded. */
describe('bounded work per event request (gateway and ingest on the in-memory bus)', () => {
  const bus = new InMemoryBus({ defaultPartitions: 3 });
  let ingest: RunningService;
  let gateway: RunningService;
  let urls: string[];
  const post = (url: string, body: string | Buffer, headers: Record<string, string> = {}) => httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  beforeAll(async () => {
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const base = { HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent' };
    ingest = await startService(createIngest, readIngestConfig({ ...base, INGEST_VALIDATOR: 'off' }, { requireBrokers: false }), bus);
    gateway = await startService(createGateway, readGatewayConfig({ ...base, INGEST_URL: `http://127.0.0.1:${ingest.port}` }, { requireBrokers: false }), bus);
    urls = [`http://127.0.0.1:${gateway.port}/pipeline/events`, `http://127.0.0.1:${ingest.port}/v1/events`];
  });
  afterAll(async () => {
    await gateway.stop();
    await ingest.stop();
    await bus.close();
  });

  it('reads MAX_EVENTS_PER_REQUEST (default 10,000)', () => {
    expect(readIngestConfig({}, { requireBrokers: false }).maxEventsPerRequest).toBe(10_000);
    expect(readIngestConfig({ MAX_EVENTS_PER_REQUEST: '50' }, { requireBrokers: false }).maxEventsPerRequest).toBe(50);
    expect(() => readIngestConfig({ MAX_EVENTS_PER_REQUEST: '0' }, { requireBrokers: false })).toThrow(/MAX_EVENTS_PER_REQUEST/);
  });

  it('lists the first 100 rejections and counts them all, for a gzip JSON array and for NDJSON', async () => {
    const gzipArray = gzipSync(`[${event},${ones(9_999).slice(1)}`);
    const ndjson = `${event}\n${'x\n'.repeat(9_999)}`;
    for (const url of urls) {
      for (const [what, res] of [
        ['gzip JSON', await post(url, gzipArray, { 'content-encoding': 'gzip' })],
        ['NDJSON', await post(url, ndjson, { 'content-type': 'application/x-ndjson' })],
      ] as const) {
        expect([url, what, res.status, res.json.accepted, res.json.rejected.length, res.json.rejected_count, res.json.ids.length]).toEqual([url, what, 202, 1, 100, 9_999, 1]);
        expect(res.json.rejected[0].index).toBe(1);
        expect(res.json.rejected[99].index).toBe(100);
        expect(res.text.length).toBeLessThan(20_000);
      }
      // All rejected: 400 with the same bounded list.
      const all = await post(url, gzipSync(ones(9_999)), { 'content-encoding': 'gzip' });
      expect([all.status, all.json.error.code, all.json.error.details.rejected.length, all.json.error.details.rejected_count]).toEqual([400, 'invalid_event', 100, 9_999]);
      expect(all.text.length).toBeLessThan(20_000);
    }
  });

  it('answers 413 naming the cap for more events than MAX_EVENTS_PER_REQUEST, with a small answer', async () => {
    // The cases: a 3.9 KB gzip of [1,1,…] (2 M items) and 4 MiB of `x\n` NDJSON.
    const bomb = gzipSync(ones(2_000_000), { level: 9 });
    expect(bomb.length).toBeLessThan(8_000);
    const xs = 'x\n'.repeat(2 * MiB);
    for (const url of urls) {
      for (const res of [await post(url, bomb, { 'content-encoding': 'gzip' }), await post(url, xs, { 'content-type': 'application/x-ndjson' })]) {
        expect([url, res.status, res.json.error.code]).toEqual([url, 413, 'too_many_events']);
        expect(res.json.error.message).toMatch(/more than 10000 events, the limit per request/);
        expect(res.text.length).toBeLessThan(20_000);
      }
      const plain = await post(url, JSON.stringify(Array.from({ length: 10_001 }, () => JSON.parse(event))));
      expect([plain.status, plain.json.error.code, plain.json.error.details.max_events]).toEqual([413, 'too_many_events', 10_000]);
    }
  });

  it('limits an inflated body by the byte limit, counted after inflation: 413, not 202', async () => {
    // A 17 MiB array of whitespace and one event: past both the gateway's (10 MiB) and ingest's (16 MiB) limit.
    const big = `[${' '.repeat(17 * MiB)}${event}]`;
    const bigNdjson = `${'\n'.repeat(17 * MiB)}${event}\n`;
    const cases: Array<[string, Buffer, Record<string, string>, RegExp]> = [
      [urls[0]!, gzipSync(big), { 'content-encoding': 'gzip' }, /exceeds the limit of 10485760 bytes \(counted after inflation\)/],
      [urls[0]!, deflateSync(big), { 'content-encoding': 'deflate' }, /exceeds the limit of 10485760 bytes \(counted after inflation\)/],
      [urls[0]!, gzipSync(bigNdjson), { 'content-encoding': 'gzip', 'content-type': 'application/x-ndjson' }, /exceeds the limit of 10485760 bytes \(counted after inflation\)/],
      [urls[1]!, gzipSync(big), { 'content-encoding': 'gzip' }, /exceeds the limit of 16777216 bytes/],
      [urls[1]!, deflateSync(big), { 'content-encoding': 'deflate' }, /exceeds the limit of 16777216 bytes/],
      [urls[1]!, gzipSync(bigNdjson), { 'content-encoding': 'gzip', 'content-type': 'application/x-ndjson' }, /exceeds the limit of 16777216 bytes \(counted after inflation\)/],
    ];
    for (const [url, body, headers, message] of cases) {
      expect(body.length).toBeLessThan(100_000);
      const res = await post(url, body, headers);
      expect([url, headers, res.status, res.json?.error?.code]).toEqual([url, headers, 413, 'payload_too_large']);
      expect(res.json.error.message).toMatch(message);
    }
  }, 30_000); // compresses and inflates 17 MiB four times: seconds on a loaded 2-core host

  it('accepts gzip and deflate bodies under the limits, JSON and NDJSON', async () => {
    for (const url of urls) {
      for (const [body, headers] of [
        [gzipSync(`[${event},${event}]`), { 'content-encoding': 'gzip' }],
        [deflateSync(`[${event},${event}]`), { 'content-encoding': 'deflate' }],
        [gzipSync(`${event}\n${event}\n`), { 'content-encoding': 'gzip', 'content-type': 'application/x-ndjson' }],
        [deflateSync(`${event}\n${event}\n`), { 'content-encoding': 'deflate', 'content-type': 'application/x-ndjson' }],
      ] as Array<[Buffer, Record<string, string>]>) {
        const res = await post(url, body, headers);
        expect([url, headers, res.status, res.json.accepted, res.json.rejected, res.json.rejected_count]).toEqual([url, headers, 202, 2, [], 0]);
      }
      const broken = await post(url, Buffer.from('not gzip at all'), { 'content-encoding': 'gzip', 'content-type': 'application/x-ndjson' });
      expect([url, broken.status, broken.json.error.code]).toEqual([url, 400, 'invalid_body']);
    }
  });
});

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { httpRequest, waitFor } from '@pipeline/testing';
import { startIngestAndGateway } from './harness';

jest.setTimeout(240_000);

// This suite stops and restarts a broker, so it runs its own (port 29192), not the shared one.
const root = join(__dirname, '../../../..');
const brokerEnv = { ...process.env, KAFKA_PORT: '29192', KAFKA_DATA: `/tmp/event-pipeline-kafka-fast503-${process.pid}`, KAFKA_HEAP: '512m' };
const kafka = (cmd: 'start' | 'stop' | 'wipe') => execFileSync('bash', [join(root, 'scripts/kafka.sh'), cmd], { env: brokerEnv, stdio: 'inherit' });
const brokers = ['127.0.0.1:29192'];

/**
 * The buses' publish timeout here. Once the broker is known down (#18) a write is refused at once,
 * before any produce is tried; a write that took the slow path would wait this long. So an answer in
 * under half of it shows the fast path, with a wide margin on a noisy host.
 */
const PUBLISH_TIMEOUT_MS = 30_000;

describe('writes and /readyz while the broker is known down', () => {
  afterAll(() => kafka('wipe'));

  it('are refused with 503 + Retry-After, well before the publish timeout, and not ready once the outage is detected, and writes succeed again once the broker is back', async () => {
    kafka('start');
    const env = await startIngestAndGateway({ VALIDATOR_GROUP_ID: 'fast503-validator' }, brokers, { publishTimeoutMs: PUBLISH_TIMEOUT_MS });
    const json = { 'content-type': 'application/json' };
    const writes = {
      'ingest POST /v1/events': () => httpRequest(`${env.ingestUrl}/v1/events`, { method: 'POST', headers: json, body: JSON.stringify({ topic: 'events.metrics', payload: { metric_name: 'fast503', value: 1 } }) }),
      'gateway POST /pipeline/events': () => httpRequest(`${env.gatewayUrl}/pipeline/events`, { method: 'POST', headers: json, body: JSON.stringify({ topic: 'events.metrics', payload: { metric_name: 'fast503', value: 1 } }) }),
      'gateway POST /pipeline/aggregate': () => httpRequest(`${env.gatewayUrl}/pipeline/aggregate`, { method: 'POST', headers: json, body: JSON.stringify({ metric_name: 'fast503', value: 2 }) }),
      'gateway POST /pipeline/ml/train': () =>
        httpRequest(`${env.gatewayUrl}/pipeline/ml/train`, { method: 'POST', headers: json, body: JSON.stringify({ model_name: 'fast503', model_type: 'kmeans', feature_keys: ['a'], data: [{ a: 1 }, { a: 2 }, { a: 3 }], params: { nClusters: 1 } }) }),
      'gateway POST /pipeline/spark/process (inline)': () => httpRequest(`${env.gatewayUrl}/pipeline/spark/process`, { method: 'POST', headers: json, body: JSON.stringify({ operation: 'process_batch', events: [{ timestamp: Date.now(), value: 1 }] }) }),
      'gateway POST /pipeline/spark/process (source)': () =>
        httpRequest(`${env.gatewayUrl}/pipeline/spark/process`, { method: 'POST', headers: json, body: JSON.stringify({ operation: 'process_batch', source: { topic: 'events.metrics', from: Date.now() - 60_000, to: Date.now() } }) }),
    };
    const readyz = { ingest: `${env.ingestUrl}/readyz`, gateway: `${env.gatewayUrl}/readyz` };
    const statuses = async () => Object.fromEntries(await Promise.all(Object.entries(writes).map(async ([name, post]) => [name, (await post()).status] as const)));
    const allAccepted = Object.fromEntries(Object.keys(writes).map((name) => [name, 202]));
    try {
      expect(await statuses()).toEqual(allAccepted);

      kafka('stop');
      // Detection: the first writes after the stop may wait for the client's own retries and a probe.
      await waitFor(async () => (await writes['ingest POST /v1/events']()).status === 503 && (await writes['gateway POST /pipeline/aggregate']()).status === 503, { timeoutMs: 90_000, what: 'the outage to be detected' });

      const during: Record<string, unknown> = {};
      const fast = async (f: () => ReturnType<typeof httpRequest>) => {
        const started = performance.now();
        const r = await f();
        return { r, fast: performance.now() - started < PUBLISH_TIMEOUT_MS / 2 };
      };
      for (const [name, post] of Object.entries(writes)) {
        const { r, fast: quick } = await fast(post);
        during[name] = { status: r.status, retryAfter: r.headers['retry-after'], code: r.json?.error?.code, fast: quick };
      }
      for (const [name, url] of Object.entries(readyz)) {
        const { r, fast: quick } = await fast(() => httpRequest(url));
        during[`${name} /readyz`] = { status: r.status, fast: quick };
      }
      const refused = { status: 503, retryAfter: '5', code: 'kafka_unavailable', fast: true };
      expect(during).toEqual({
        ...Object.fromEntries(Object.keys(writes).map((name) => [name, refused])),
        'ingest /readyz': { status: 503, fast: true },
        'gateway /readyz': { status: 503, fast: true },
      });

      kafka('start');
      // The same processes recover without a restart: the probe sees the broker back.
      await waitFor(async () => (await writes['gateway POST /pipeline/aggregate']()).status === 202, { timeoutMs: 90_000, what: 'writes to be accepted again' });
      await waitFor(async () => (await writes['ingest POST /v1/events']()).status === 202, { timeoutMs: 30_000, what: 'ingest to accept again' });
      expect(await statuses()).toEqual(allAccepted);
      expect([(await httpRequest(readyz.ingest)).status, (await httpRequest(readyz.gateway)).status]).toEqual([200, 200]);
    } finally {
      await env.stop();
    }
  });
});

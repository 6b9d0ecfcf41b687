import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { httpRequest } from '@pipeline/testing';
import { collect, startIngestAndGateway } from './harness';

jest.setTimeout(240_000);

// This suite stops and restarts a broker, so it runs its own (port 19192), not the shared one.
const root = join(__dirname, '../../../..');
const brokerEnv = { ...process.env, KAFKA_PORT: '19192', KAFKA_DATA: `/tmp/event-pipeline-kafka-outage-${process.pid}`, KAFKA_HEAP: '512m' };
const kafka = (cmd: 'start' | 'stop' | 'wipe') => execFileSync('bash', [join(root, 'scripts/kafka.sh'), cmd], { env: brokerEnv, stdio: 'inherit' });
const brokers = ['127.0.0.1:19192'];

describe('ingest while Kafka goes down and comes back', () => {
  afterAll(() => kafka('wipe'));

  it('answers 503 + Retry-After while Kafka is down, reconnects without a restart, and every event answered 202 is on its topic', async () => {
    kafka('start');
    const env = await startIngestAndGateway({ VALIDATOR_GROUP_ID: 'outage-validator' }, brokers);
    const run = randomUUID();
    const acceptedIds: string[] = [];
    const statuses: Record<number, number> = {};
    let retryAfter: string | undefined;
    let n = 0;
    const postOne = async () => {
      const body = JSON.stringify({ topic: 'events.metrics', payload: { metric_name: 'outage', value: n++, tags: { run } } });
      const res = await httpRequest(`${env.ingestUrl}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status === 202) acceptedIds.push(...(res.json.ids as string[]));
      if (res.status === 503) retryAfter = res.headers["retry-after"] as string;
      return res.status;
    };
    const postFor = async (ms: number) => {
      const end = Date.now() + ms;
      const seen: number[] = [];
      await Promise.all([0, 1, 2, 3].map(async () => {
        while (Date.now() < end) seen.push(await postOne());
      }));
      return seen;
    };
    try {
      const before = await postFor(2_000);
      expect(before.every((s) => s === 202)).toBe(true);
      kafka('stop');
      const during = await postFor(8_000);
      expect(during.filter((s) => s === 503).length).toBeGreaterThan(0);
      expect(during.every((s) => s === 503 || s === 202)).toBe(true);
      expect(retryAfter).toBe('5');
      kafka('start');
      // The same ingest process recovers: keep posting until 202s come back, then a bit more.
      const deadline = Date.now() + 90_000;
      let recovered = false;
      while (!recovered && Date.now() < deadline) recovered = (await postOne()) === 202;
      expect(recovered).toBe(true);
      const after = await postFor(2_000);
      expect(after.every((s) => s === 202)).toBe(true);
      const readyz = await httpRequest(`${env.ingestUrl}/readyz`);
      expect(readyz.status).toBe(200);

      // Count: every id answered 202 is on events.metrics exactly as accepted (duplicates allowed by at-least-once, none missing).
      const topic = await collect(['events.metrics'], { brokers, fromBeginning: true });
      try {
        const wanted = new Set(acceptedIds);
        await topic.waitFor((m) => m.value.toString().includes(run), wanted.size, 60_000);
        const found = new Set(topic.find((m) => m.value.toString().includes(run)).map((m) => JSON.parse(m.value.toString()).id as string));
        const missing = [...wanted].filter((id) => !found.has(id));
        expect({ accepted: wanted.size, missing: missing.length }).toEqual({ accepted: wanted.size, missing: 0 });
        console.log(`outage test: ${JSON.stringify(statuses)} responses; ${wanted.size} accepted events all found on the topic`);
      } finally {
        await topic.stop();
      }
    } finally {
      await env.stop();
    }
  });
});

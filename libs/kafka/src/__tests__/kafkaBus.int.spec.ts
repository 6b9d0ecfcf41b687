import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { BusUnavailableError, CompactedTopicView, pipelineTopicSpecs, type IncomingMessage, type Subscription } from '../index';
import { kafkaBrokers, uniqueName, waitFor } from '@pipeline/testing';
import { ADAPTERS, busFactory } from './busAdapters';

// The adapter contract: every shared case runs on each Kafka adapter (KAFKA_CLIENTS) on the real broker.
jest.mock('@platformatic/kafka', () => require('./busAdapters').requireOutsideJest('@platformatic/kafka'));
jest.setTimeout(90_000);

describe.each(ADAPTERS)('the %s bus on a real broker', (client) => {
  const { newBus, closeAll } = busFactory(client);
  afterAll(closeAll);

  /** Publishes `value` on `bus` and returns what a new member of `groupId` then reads: only what came after the group's last commit. */
  const publishAndResume = async (bus: ReturnType<typeof newBus>, groupId: string, topic: string, value: string): Promise<string[]> => {
    await bus.publish({ topic, key: 'k', value });
    const resumed: string[] = [];
    await newBus().subscribe({ groupId, topics: [topic], fromBeginning: true, handler: async (b) => void resumed.push(...b.messages.map((m) => m.value.toString())) });
    await waitFor(() => resumed.length >= 1, { what: 'resume' });
    await new Promise((r) => setTimeout(r, 500));
    return resumed;
  };

  it('publishes keyed messages and a consumer group reads each once, per-key in order, with the record timestamp kept', async () => {
    const bus = newBus();
    const topic = uniqueName('t-order');
    await bus.ensureTopics([{ topic, partitions: 3 }]);
    await bus.publishBatch(Array.from({ length: 300 }, (_, i) => ({ topic, key: `k${i % 7}`, value: String(i), timestampMs: 1_700_000_000_000 + i })));
    const got: IncomingMessage[] = [];
    await bus.subscribe({ groupId: uniqueName('g'), topics: [topic], fromBeginning: true, handler: async (b) => void got.push(...b.messages) });
    await waitFor(() => got.length >= 300, { what: '300 messages' });
    expect(got.length).toBe(300);
    for (let k = 0; k < 7; k++) {
      const mine = got.filter((m) => m.key === `k${k}`);
      expect(new Set(mine.map((m) => m.partition)).size).toBe(1);
      const values = mine.map((m) => Number(m.value.toString()));
      expect(values).toEqual([...values].sort((a, b) => a - b));
    }
    expect(got.find((m) => m.value.toString() === '5')!.timestampMs).toBe(1_700_000_000_005);
  });

  it('commits only after the handler succeeded: a failing batch is redelivered, a restarted member resumes after the last commit', async () => {
    const bus = newBus();
    const topic = uniqueName('t-commit');
    const groupId = uniqueName('g');
    await bus.ensureTopics([{ topic, partitions: 1 }]);
    await bus.publishBatch(['a', 'b', 'c'].map((v) => ({ topic, key: 'k', value: v })));
    let failed = false;
    const first: string[] = [];
    const sub = await bus.subscribe({
      groupId,
      topics: [topic],
      fromBeginning: true,
      handler: async (b) => {
        if (!failed) {
          failed = true;
          throw new Error('transient');
        }
        first.push(...b.messages.map((m) => m.value.toString()));
      },
    });
    await waitFor(() => first.length >= 3, { what: 'redelivery' });
    expect(first).toEqual(['a', 'b', 'c']);
    await sub.stop();
    expect(await publishAndResume(bus, groupId, topic, 'd')).toEqual(['d']);
  });

  it('passes over records carrying the skip header without handing them over, and commits past them', async () => {
    const bus = newBus();
    const topic = uniqueName('t-skip');
    const groupId = uniqueName('g');
    const skipHeader = { name: 'pipeline-validated', value: '1' };
    await bus.ensureTopics([{ topic, partitions: 1 }]);
    const marked = { 'pipeline-validated': '1' };
    await bus.publishBatch([
      { topic, key: 'k', value: 'a', headers: marked },
      { topic, key: 'k', value: 'b' },
      { topic, key: 'k', value: 'c', headers: { 'pipeline-validated': '0', other: 'x' } },
      { topic, key: 'k', value: 'd', headers: marked },
    ]);
    const seen: IncomingMessage[] = [];
    const sub = await bus.subscribe({ groupId, topics: [topic], fromBeginning: true, skipHeader, handler: async (b) => void seen.push(...b.messages) });
    await waitFor(() => seen.length >= 2, { what: 'the unmarked records' });
    await bus.publishBatch(['e', 'f'].map((v) => ({ topic, key: 'k', value: v, headers: marked })));
    await new Promise((r) => setTimeout(r, 1_000));
    await sub.stop();
    expect(seen.map((m) => [m.value.toString(), m.offset, m.headers])).toEqual([
      ['b', '1', {}],
      ['c', '2', { 'pipeline-validated': '0', other: 'x' }],
    ]);
    // A batch of skipped records only was committed too: the group resumes after 'f'.
    expect(await publishAndResume(bus, groupId, topic, 'g')).toEqual(['g']);
  });

  it('rebalances: two members split the partitions, and when one leaves the other takes over without losing messages', async () => {
    const topic = uniqueName('t-rebalance');
    const groupId = uniqueName('g');
    const busA = newBus();
    const busB = newBus();
    await busA.ensureTopics([{ topic, partitions: 4 }]);
    const seen = new Map<string, number>();
    const handler = async (b: { messages: IncomingMessage[] }) => {
      for (const m of b.messages) seen.set(m.value.toString(), (seen.get(m.value.toString()) ?? 0) + 1);
    };
    const a = await busA.subscribe({ groupId, topics: [topic], fromBeginning: true, handler });
    const b = await busB.subscribe({ groupId, topics: [topic], fromBeginning: true, handler });
    await waitFor(() => a.assignments().length + b.assignments().length === 4 && a.assignments().length > 0 && b.assignments().length > 0, { what: 'split assignment', timeoutMs: 30_000 });
    await busA.publishBatch(Array.from({ length: 200 }, (_, i) => ({ topic, key: `k${i}`, value: `m${i}` })));
    await waitFor(() => seen.size === 200, { what: 'first 200' });
    await b.stop();
    await waitFor(() => a.assignments().length === 4, { what: 'takeover', timeoutMs: 30_000 });
    await busA.publishBatch(Array.from({ length: 200 }, (_, i) => ({ topic, key: `k${i}`, value: `n${i}` })));
    await waitFor(() => seen.size === 400, { what: 'all 400' });
    expect(seen.size).toBe(400);
  });

  it('seeks from a handler: the next batch of that partition starts at the target offset', async () => {
    const bus = newBus();
    const topic = uniqueName('t-seek');
    const groupId = uniqueName('g');
    await bus.ensureTopics([{ topic, partitions: 1 }]);
    await bus.publishBatch(['a', 'b', 'c', 'd'].map((v) => ({ topic, key: 'k', value: v })));
    const seen: string[] = [];
    const mine: { sub?: Subscription } = {};
    mine.sub = await bus.subscribe({
      groupId,
      topics: [topic],
      fromBeginning: true,
      handler: async (b) => {
        await waitFor(() => mine.sub !== undefined, { what: 'the subscription' });
        seen.push(...b.messages.map((m) => m.value.toString()));
        if (seen.length === 4) mine.sub!.seek({ topic, partition: 0, offset: '2' });
      },
    });
    await waitFor(() => seen.length >= 6, { what: 'the batch after the seek' });
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'c', 'd']);
  });

  it('fails a publish to an unreachable cluster within publishTimeoutMs as a retriable BusUnavailableError, and reports not ready', async () => {
    const bus = newBus({ brokers: ['127.0.0.1:1'], publishTimeoutMs: 1_500 });
    const started = Date.now();
    const err = await bus.publish({ topic: uniqueName('t-down'), key: 'k', value: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusUnavailableError);
    // Whichever comes first: the publish timeout, or the client giving up on the refused connection.
    expect((err as BusUnavailableError).retriable).toBe(true);
    expect((err as BusUnavailableError).message).toMatch(/^Kafka (did not acknowledge 1 message\(s\) within 1500 ms|is unavailable; 1 message\(s\) were not acknowledged|is unreachable \(since [0-9TZ:.-]+\); nothing was accepted) — retry later$/);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(await bus.ping()).toBe(false);
  });

  it('reads a time range by record timestamp without joining the services’ groups', async () => {
    const bus = newBus();
    const topic = uniqueName('t-range');
    await bus.ensureTopics([{ topic, partitions: 2 }]);
    const base = Date.now() - 60_000;
    await bus.publishBatch(Array.from({ length: 100 }, (_, i) => ({ topic, key: `k${i}`, value: String(i), timestampMs: base + i * 100 })));
    const got: number[] = [];
    const progress: number[] = [];
    const { read } = await bus.readRange({ topic, fromMs: base + 2_000, toMs: base + 5_000, onBatch: (ms, p) => { got.push(...ms.map((m) => Number(m.value.toString()))); progress.push(p); } });
    expect(read).toBe(30);
    expect(got.sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 20));
    expect(progress[progress.length - 1]).toBe(1);
  });

  it('splits queued messages into produce requests under maxBatchBytes, so many large messages to one partition pass a per-batch limit', async () => {
    const bus = newBus({ maxBatchBytes: 3 * 1024 * 1024 });
    const topic = uniqueName('t-large');
    await bus.ensureTopics([{ topic, partitions: 1, config: { 'max.message.bytes': String(4 * 1024 * 1024) } }]);
    const mib = (i: number) => Buffer.alloc(1024 * 1024, i);
    // 12 MiB for one partition in one call: a single record batch would exceed the topic's 4 MiB.
    await bus.publishBatch(Array.from({ length: 12 }, (_, i) => ({ topic, key: 'same', value: mib(i) })));
    const got: number[] = [];
    await bus.subscribe({ groupId: uniqueName('g'), topics: [topic], fromBeginning: true, handler: async (b) => void got.push(...b.messages.map((m) => m.value[0]!)) });
    await waitFor(() => got.length >= 12, { what: '12 large messages' });
    expect(got).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('with a long fetchMaxWaitMs, a message published while a fetch waits at the broker arrives at once', async () => {
    const bus = newBus();
    const topic = uniqueName('t-wait');
    await bus.ensureTopics([{ topic, partitions: 1 }]);
    const arrived: number[] = [];
    await bus.subscribe({ groupId: uniqueName('g'), topics: [topic], fromBeginning: true, fetchMaxWaitMs: 5_000, handler: async (b) => void arrived.push(...b.messages.map(() => Date.now())) });
    await bus.publish({ topic, key: 'k', value: 'first' });
    await waitFor(() => arrived.length === 1, { what: 'the first message' });
    await new Promise((r) => setTimeout(r, 1_500)); // the consumer's next fetch is now waiting for up to 5 s
    const sent = Date.now();
    await bus.publish({ topic, key: 'k', value: 'second' });
    await waitFor(() => arrived.length === 2, { what: 'the second message' });
    // Without the broker ending the wait on new data it would come ~3.5 s later, when the fetch expires.
    expect(arrived[1]! - sent).toBeLessThan(2_000);
  });

  it('sends an empty value as a real tombstone (a null value on the wire), which consumers see as an empty value', async () => {
    const bus = newBus();
    const topic = uniqueName('t-tomb');
    await bus.ensureTopics([{ topic, partitions: 1, compacted: true }]);
    await bus.publishBatch([
      { topic, key: 'gone', value: 'v1' },
      { topic, key: 'gone', value: '' },
      { topic, key: 'kept', value: Buffer.alloc(0) },
      { topic, key: 'kept', value: 'v2' },
    ]);
    // A plain kafkajs consumer, not our bus, shows what is stored: null (a tombstone compaction
    // deletes) rather than a zero-length value (which compaction would keep forever). kcat cannot
    // tell the two apart (librdkafka hands both over as no payload).
    const raw = new Kafka({ brokers: kafkaBrokers(), clientId: uniqueName('raw'), logLevel: logLevel.NOTHING }).consumer({ groupId: uniqueName('g-raw') });
    const stored: string[] = [];
    try {
      await raw.connect();
      await raw.subscribe({ topic, fromBeginning: true });
      await raw.run({ eachMessage: async ({ message }) => void stored.push(`${message.key}=${message.value === null ? 'null' : `"${message.value.toString()}"`}`) });
      await waitFor(() => stored.length >= 4, { what: '4 raw messages' });
    } finally {
      await raw.disconnect();
    }
    expect(stored).toEqual(['gone="v1"', 'gone=null', 'kept=null', 'kept="v2"']);
    const got: IncomingMessage[] = [];
    await bus.subscribe({ groupId: uniqueName('g'), topics: [topic], fromBeginning: true, handler: async (b) => void got.push(...b.messages) });
    await waitFor(() => got.length >= 4, { what: '4 messages' });
    expect(got.map((m) => `${m.key}=${m.value.toString()}|${m.value.length}`)).toEqual(['gone=v1|2', 'gone=|0', 'kept=|0', 'kept=v2|2']);
  });

  it('creates the pipeline topics with their configured retention.ms and retention.bytes, and compacted topics with none', async () => {
    const bus = newBus();
    const specs = pipelineTopicSpecs({ partitions: 1, replicationFactor: 1, retention: { 'events.metrics': { ms: 3_600_000, bytes: 64 * 1024 * 1024 }, 'pipeline.deadletter': { ms: -1, bytes: -1 } } });
    // The real specs under names of this run's own (the broker may already hold the pipeline's topics).
    const picked = ['events.metrics', 'events.devices', 'pipeline.deadletter', 'pipeline.ml.models'].map((t) => ({ ...specs.find((s) => s.topic === t)!, topic: uniqueName(`t-ret-${t}`) }));
    await bus.ensureTopics(picked);
    const admin = new Kafka({ brokers: kafkaBrokers(), clientId: uniqueName('admin'), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const names = ['retention.ms', 'retention.bytes', 'cleanup.policy'];
      const described = await admin.describeConfigs({ includeSynonyms: false, resources: picked.map((p) => ({ type: ConfigResourceTypes.TOPIC, name: p.topic, configNames: names })) });
      const stored = picked.map((p) => {
        const entries = described.resources.find((r) => r.resourceName === p.topic)!.configEntries;
        return names.map((n) => entries.find((e) => e.configName === n)!.configValue).join(' ');
      });
      expect(stored).toEqual([
        '3600000 67108864 delete', // events.metrics: its own
        '604800000 17179869184 delete', // events.devices: the defaults, 7 days and 16 GiB per partition
        '-1 -1 delete', // pipeline.deadletter: no limit
        '604800000 -1 compact', // pipeline.ml.models: compacted, the broker's defaults (unused by compaction)
      ]);
    } finally {
      await admin.disconnect();
    }
  });

  it('leaves no throw-away consumer group on the broker once a view of a compacted topic stopped or a range read finished, and labels the view\'s lag with its name', async () => {
    const name = uniqueName('view');
    const lagLabels = new Set<string>();
    const bus = newBus({ observer: { lag: (group) => void lagLabels.add(group) } });
    const topic = uniqueName('t-view');
    await bus.ensureTopics([{ topic, partitions: 2, compacted: true }]);
    await bus.publishBatch([{ topic, key: 'a', value: '1', timestampMs: Date.now() - 1_000 }, { topic, key: 'b', value: '2', timestampMs: Date.now() - 1_000 }]);
    const admin = new Kafka({ brokers: kafkaBrokers(), clientId: uniqueName('admin'), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const readers = async () => (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(name)).sort();
      expect(await readers()).toEqual([]);
      const view = new CompactedTopicView<string>(bus, { topic, groupPrefix: name, decode: (m) => m.value.toString() });
      await view.start();
      await view.catchUp();
      expect([...view.entries()].sort()).toEqual([['a', '1'], ['b', '2']]);
      // kafkajs cannot read without a group: while it runs, the view has one of its own (KafkaJsBus.follow).
      expect((await readers()).map((g) => g.replace(/-[0-9a-f-]{36}$/, '-<uuid>'))).toEqual(client === 'kafkajs' ? [`${name}-<uuid>`] : []);
      const ranged: string[] = [];
      expect(await bus.readRange({ topic, name: `${name}-range`, onBatch: (ms) => void ranged.push(...ms.map((m) => m.key!)) })).toEqual({ read: 2 });
      expect(ranged.sort()).toEqual(['a', 'b']);
      await view.stop();
      expect(await readers()).toEqual([]);
      expect([...lagLabels]).toEqual([name]);
    } finally {
      await admin.disconnect();
    }
  });

  it('classifies an unknown topic as a non-retriable error', async () => {
    const bus = newBus();
    await expect(bus.publish({ topic: uniqueName('missing'), value: 'x' })).rejects.toMatchObject({ retriable: false });
  });
});

describe('KafkaJsBus on a real broker (kafkajs only)', () => {
  const { newBus, closeAll } = busFactory('kafkajs');
  afterAll(closeAll);

  it('leaves idle connections quiet: a subscribed, idle bus checks its request queues only when a response arrives (no 1 ms timer loop)', async () => {
    // kafkajs 2.2.4 re-arms a 1 ms timer per connection after every response; fixKafkaJsIdleLoop removes it.
    const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as { prototype: { checkPendingRequests(): void; fulfillRequest(...a: unknown[]): void } };
    const bus = newBus();
    const topic = uniqueName('t-idle');
    await bus.ensureTopics([{ topic, partitions: 1 }]);
    let ready = false;
    await bus.subscribe({ groupId: uniqueName('g'), topics: [topic], fromBeginning: true, handler: async () => void (ready = true) });
    await bus.publish({ topic, key: 'k', value: 'v' });
    await waitFor(() => ready, { what: 'the first message' });
    const checks = jest.spyOn(RequestQueue.prototype, 'checkPendingRequests');
    const responses = jest.spyOn(RequestQueue.prototype, 'fulfillRequest');
    try {
      await new Promise((r) => setTimeout(r, 1_000));
      // Idle, the consumer still long-polls (a fetch answer every maxWaitTime of 50 ms) and heartbeats,
      // and each answer checks its queue once. Unfixed, each connection also checked ~1,000 times a second.
      expect(responses.mock.calls.length).toBeGreaterThan(0);
      expect(checks.mock.calls.length).toBeLessThanOrEqual(responses.mock.calls.length + 5);
    } finally {
      checks.mockRestore();
      responses.mockRestore();
    }
  });

  it('with a long fetchMaxWaitMs an idle consumer polls rarely, yet a message published during a wait arrives at once', async () => {
    const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as { prototype: { fulfillRequest(...a: unknown[]): void } };
    const clientId = uniqueName('waiter');
    const bus = newBus({ clientId });
    const topic = uniqueName('t-wait');
    await bus.ensureTopics([{ topic, partitions: 1 }]);
    const arrived: number[] = [];
    await bus.subscribe({ groupId: uniqueName('g'), topics: [topic], fromBeginning: true, fetchMaxWaitMs: 5_000, handler: async (b) => void arrived.push(...b.messages.map(() => Date.now())) });
    await bus.publish({ topic, key: 'k', value: 'first' });
    await waitFor(() => arrived.length === 1, { what: 'the first message' });
    // The consumer's next fetch is now waiting at the broker for up to 5 s.
    const responses = jest.spyOn(RequestQueue.prototype, 'fulfillRequest');
    // Answers to this bus's requests only (other tests' buses are still polling).
    const mine = () => responses.mock.contexts.filter((q) => (q as { clientId?: string }).clientId === clientId).length;
    try {
      await new Promise((r) => setTimeout(r, 1_500));
      // At most a heartbeat or two and one fetch answer; at 50 ms this bus would see ~30 fetch answers.
      const idle = mine();
      expect(idle).toBeLessThanOrEqual(4);
      const sent = Date.now();
      await bus.publish({ topic, key: 'k', value: 'second' });
      await waitFor(() => arrived.length === 2, { what: 'the second message' });
      // Without the broker ending the wait on new data it would come ~3.5 s later, when the fetch expires.
      expect(arrived[1]! - sent).toBeLessThan(2_000);
      expect(mine()).toBeGreaterThan(idle); // the spy sees this bus: the answer that carried the message (and the publish)
    } finally {
      responses.mockRestore();
    }
  });
});

import { murmur2 } from './partitionForKey';
import { InMemoryBus, partitionForKey, withRetries, BusError, type MessageBatch } from './index';

const until = async (cond: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('InMemoryBus', () => {
  it('keeps per-key order on one partition and delivers each message once per group', async () => {
    const bus = new InMemoryBus({ defaultPartitions: 4 });
    await bus.ensureTopics([{ topic: 't' }]);
    const seenA: string[] = [];
    const seenB: string[] = [];
    const handler = (into: string[]) => async (b: MessageBatch) => {
      for (const m of b.messages) into.push(`${m.key}:${m.value.toString()}`);
    };
    const a = await bus.subscribe({ groupId: 'g', topics: ['t'], fromBeginning: true, handler: handler(seenA) });
    const b = await bus.subscribe({ groupId: 'g', topics: ['t'], fromBeginning: true, handler: handler(seenB) });
    const other: string[] = [];
    await bus.subscribe({ groupId: 'other', topics: ['t'], fromBeginning: true, handler: handler(other) });
    for (let i = 0; i < 100; i++) await bus.publish({ topic: 't', key: `k${i % 5}`, value: String(i) });
    await until(() => seenA.length + seenB.length === 100 && other.length === 100);
    const all = [...seenA, ...seenB];
    expect(new Set(all).size).toBe(100);
    for (let k = 0; k < 5; k++) {
      const values = other.filter((s) => s.startsWith(`k${k}:`)).map((s) => Number(s.split(':')[1]));
      expect(values).toEqual([...values].sort((x, y) => x - y));
    }
    expect(a.assignments().length + b.assignments().length).toBe(4);
  });

  it('redelivers a batch whose handler failed (at-least-once) and resumes from the committed offset', async () => {
    const bus = new InMemoryBus({ retryDelayMs: 5 });
    await bus.ensureTopics([{ topic: 't', partitions: 1 }]);
    let failures = 0;
    const got: string[] = [];
    const sub = await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      handler: async (b) => {
        if (failures < 2) {
          failures++;
          throw new Error('boom');
        }
        got.push(...b.messages.map((m) => m.value.toString()));
      },
    });
    await bus.publishBatch([{ topic: 't', value: 'a' }, { topic: 't', value: 'b' }]);
    await until(() => got.length === 2);
    expect(got).toEqual(['a', 'b']);
    await sub.stop();
    await bus.publish({ topic: 't', value: 'c' });
    const after: string[] = [];
    await bus.subscribe({ groupId: 'g', topics: ['t'], fromBeginning: true, handler: async (b) => void after.push(...b.messages.map((m) => m.value.toString())) });
    await until(() => after.length === 1);
    expect(after).toEqual(['c']);
  });

  it('passes over messages carrying the skip header, never hands over a batch of only those, and commits past them', async () => {
    const bus = new InMemoryBus();
    await bus.ensureTopics([{ topic: 't', partitions: 1 }]);
    const marked = { 'pipeline-validated': '1' };
    const batches: string[][] = [];
    const sub = await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      skipHeader: { name: 'pipeline-validated', value: '1' },
      handler: async (b) => void batches.push(b.messages.map((m) => m.value.toString())),
    });
    await bus.publishBatch([{ topic: 't', value: 'a', headers: marked }, { topic: 't', value: 'b' }, { topic: 't', value: 'c', headers: { 'pipeline-validated': '0' } }]);
    await until(() => batches.length === 1);
    await bus.publishBatch([{ topic: 't', value: 'd', headers: marked }]);
    await new Promise((r) => setTimeout(r, 20));
    expect(batches).toEqual([['b', 'c']]);
    await sub.stop();
    await bus.publish({ topic: 't', value: 'e' });
    const after: string[] = [];
    await bus.subscribe({ groupId: 'g', topics: ['t'], fromBeginning: true, handler: async (b) => void after.push(...b.messages.map((m) => m.value.toString())) });
    await until(() => after.length === 1);
    expect(after).toEqual(['e']);
  });

  it('rejects publishing to an unknown topic', async () => {
    const bus = new InMemoryBus();
    await expect(bus.publish({ topic: 'nope', value: 'x' })).rejects.toThrow('unknown topic nope');
  });

  it('reads a time range', async () => {
    const bus = new InMemoryBus();
    await bus.ensureTopics([{ topic: 't' }]);
    await bus.publishBatch([10, 20, 30, 40].map((ts) => ({ topic: 't', key: String(ts), value: String(ts), timestampMs: ts })));
    const got: number[] = [];
    const { read } = await bus.readRange({ topic: 't', fromMs: 20, toMs: 40, onBatch: (ms) => void got.push(...ms.map((m) => m.timestampMs)) });
    expect(read).toBe(2);
    expect(got.sort()).toEqual([20, 30]);
  });
});

describe('partitionForKey', () => {
  it('computes the Java client murmur2 on its published test vectors', () => {
    // From Kafka's UtilsTest.testMurmur2.
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
    expect(murmur2(Buffer.from('abc'))).toBe(479470107);
  });
  it('places keys on the same partitions as kafkajs DefaultPartitioner', () => {
    const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (k: string) => number;
    for (let i = 0; i < 500; i++) {
      const key = `metric-${i}|group-${i * 7}`;
      expect(partitionForKey(key, 6)).toBe((kafkajsMurmur2(key) & 0x7fffffff) % 6);
    }
  });
});

describe('withRetries', () => {
  it('retries retriable errors with growing backoff and gives up on non-retriable ones at once', async () => {
    const waits: number[] = [];
    let calls = 0;
    const result = await withRetries(
      async () => {
        calls++;
        if (calls < 4) throw new BusError('leader moved', true);
        return 'ok';
      },
      { retries: 5, baseMs: 100, maxMs: 1000, random: () => 1, sleep: async (ms) => void waits.push(ms) },
    );
    expect([result, calls, waits]).toEqual(['ok', 4, [100, 200, 400]]);
    calls = 0;
    await expect(withRetries(async () => { calls++; throw new BusError('too large', false); }, { retries: 5, baseMs: 1, maxMs: 1 })).rejects.toThrow('too large');
    expect(calls).toBe(1);
  });
});

describe('CompactedTopicView', () => {
  it('keeps the latest value per key, deletes on tombstones, and catches up to what was written', async () => {
    const { CompactedTopicView } = await import('./index');
    const bus = new InMemoryBus();
    await bus.ensureTopics([{ topic: 'state', partitions: 2, compacted: true }]);
    await bus.publishBatch([
      { topic: 'state', key: 'a', value: '1' },
      { topic: 'state', key: 'b', value: '2' },
      { topic: 'state', key: 'a', value: '3' },
    ]);
    const view = new CompactedTopicView(bus, { topic: 'state', groupPrefix: 'v', decode: (m) => Number(m.value.toString()) });
    await view.start();
    await view.catchUp(2000);
    expect([...view.entries()].sort()).toEqual([['a', 3], ['b', 2]]);
    await bus.publish({ topic: 'state', key: 'b', value: Buffer.alloc(0) });
    await view.catchUp(2000);
    expect([...view.entries()]).toEqual([['a', 3]]);
  });
});

import { EventTimeWatermark, StreamingAggregator, encodeSnapshotChunks, partitionSnapshotHeader, snapshotKey } from '@pipeline/aggregation';
import { InMemoryBus, type EventBus, type IncomingMessage, type MessageBatch, type OutgoingMessage, type Subscription, type TopicPartitionOffset } from '@pipeline/kafka';
import { ExactlyOnceState, type LivePartition } from './ExactlyOnceState';
import { LiveStatsView } from './LiveStatsView';

const TOPIC = 'state';
const GROUP = 'agg';
const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
/** Inside every window of these tests (1 h), so window counts are all events. */
const NOW = T0 + 600_000;

/** Input message `offset` of events.metrics partition 0: metric `m<offset % metrics>`, value = offset, 1 s apart. */
function message(offset: number, metrics = 1): IncomingMessage {
  const value = Buffer.from(JSON.stringify({ metric: `m${offset % metrics}`, value: offset }));
  return { topic: 'events.metrics', partition: 0, offset: String(offset), key: null, value, timestampMs: T0 + offset * 1000, headers: {} };
}

function batch(from: number, to: number, metrics = 1): MessageBatch {
  return { topic: 'events.metrics', partition: 0, messages: Array.from({ length: to - from }, (_, i) => message(from + i, metrics)), highWatermark: String(to), heartbeat: async () => undefined };
}

function fold(p: LivePartition, m: IncomingMessage): void {
  const { metric, value } = JSON.parse(m.value.toString()) as { metric: string; value: number };
  p.watermark.observe(m.timestampMs, m.timestampMs);
  p.agg.recordMetric(metric, undefined, value, m.timestampMs, p.watermark.ms);
}

/** A consumer subscription that records what the protocol asks of it. */
function fakeSubscription() {
  const seeks: TopicPartitionOffset[] = [];
  const commits: TopicPartitionOffset[][] = [];
  const sub: Subscription = {
    commit: async (offsets) => void commits.push([...offsets]),
    seek: (t) => void seeks.push(t),
    assignments: () => [{ topic: 'events.metrics', partition: 0 }],
    stop: async () => undefined,
  };
  return { sub, seeks, commits };
}

/** The bus as a process sees it; `failOn` makes the next publishBatch whose messages match reject (a crash or a broker error mid-round). */
function faultyBus(bus: EventBus) {
  let failOn: ((messages: readonly OutgoingMessage[]) => boolean) | undefined;
  const published: OutgoingMessage[][] = [];
  const proxy: EventBus = Object.assign(Object.create(bus) as EventBus, {
    publishBatch: async (messages: readonly OutgoingMessage[]) => {
      if (failOn?.(messages)) throw new Error('broker gone');
      published.push([...messages]);
      return bus.publishBatch(messages);
    },
  });
  return { bus: proxy, published, failWhen: (f: typeof failOn) => (failOn = f) };
}

async function newBus(): Promise<InMemoryBus> {
  const bus = new InMemoryBus({ defaultPartitions: 3 });
  await bus.ensureTopics([{ topic: TOPIC, partitions: 3, compacted: true }, { topic: 'events.metrics', partitions: 1 }]);
  return bus;
}

async function startState(bus: EventBus, extra: Partial<ConstructorParameters<typeof ExactlyOnceState>[0]> = {}) {
  const state = new ExactlyOnceState({
    bus,
    topic: TOPIC,
    group: GROUP,
    createAggregator: () => new StreamingAggregator({ windowSeconds: 3600, rateWindowSeconds: 60 }),
    createWatermark: (initialMs) => new EventTimeWatermark({ maxFutureSkewMs: 1e12, initialMs }),
    ...extra,
  });
  const fake = fakeSubscription();
  await state.start();
  state.attach(fake.sub);
  return { state, ...fake };
}

/** What a gateway reading the topic shows for metric `m`: [count, sum, total_events]. */
async function gatewaySees(bus: EventBus, metric = 'm0', nowMs = NOW): Promise<[number, number, number] | undefined> {
  const view = new LiveStatsView({ group: GROUP });
  await bus.readRange({ topic: TOPIC, toMs: Number.MAX_SAFE_INTEGER, onBatch: (ms) => ms.forEach((m) => view.feed(m.key, m.value)) });
  const s = view.metricStats(metric, nowMs);
  return s && [s.stats.count, s.stats.sum, s.total_events];
}

const sum = (from: number, to: number) => ((from + to - 1) * (to - from)) / 2;
const stateOf = (state: ExactlyOnceState) => state.partitions()[0]!;

describe('ExactlyOnceState', () => {
  it('commits the input offset only after the round is stored, and a restarted owner restores it and skips what it already holds', async () => {
    const bus = await newBus();
    const a = await startState(bus);
    await a.state.handle(batch(0, 10), fold);
    const report = await a.state.round();
    expect([report.partitions, report.series, report.offsets]).toEqual([1, 1, [{ topic: 'events.metrics', partition: 0, offset: '10' }]]);
    expect(a.commits).toEqual([[{ topic: 'events.metrics', partition: 0, offset: '10' }]]);
    await a.state.handle(batch(10, 15), fold); // folded, never snapshotted: lost with the process
    await a.state.stop();

    const b = await startState(bus);
    await b.state.handle(batch(5, 20), fold); // redelivered from before the state's offset: 5–9 are skipped
    expect(b.seeks).toEqual([]);
    expect(stateOf(b.state).nextOffset).toBe(20n);
    expect(stateOf(b.state).agg.metricStats('m0', NOW)!.stats.count).toBe(20);
    expect(stateOf(b.state).agg.metricStats('m0', NOW)!.stats.sum).toBe(sum(0, 20));
    await b.state.round();
    expect(await gatewaySees(bus)).toEqual([20, sum(0, 20), 20]);
    await b.state.stop();
  });

  it('moves the consumer back to the restored offset when its first batch starts above it, and folds nothing of that batch', async () => {
    const bus = await newBus();
    const a = await startState(bus);
    await a.state.handle(batch(0, 10), fold);
    await a.state.round();
    await a.state.stop();
    const b = await startState(bus);
    await b.state.handle(batch(12, 15), fold); // e.g. an offset committed by a round this view had not seen
    expect(b.seeks).toEqual([{ topic: 'events.metrics', partition: 0, offset: '10' }]);
    expect(stateOf(b.state).agg.metricStats('m0', NOW)!.stats.count).toBe(10);
    await b.state.handle(batch(10, 15), fold);
    expect(stateOf(b.state).agg.metricStats('m0', NOW)!.stats.sum).toBe(sum(0, 15));
    await b.state.stop();
  });

  it('writes only the series that changed, each to the slot its committed entry is not in, and the marker last', async () => {
    const bus = faultyBus(await newBus());
    const a = await startState(bus.bus);
    await a.state.handle(batch(0, 30, 3), fold); // m0, m1, m2
    await a.state.round();
    expect(bus.published.flat().map((m) => m.key)).toEqual(['agg/events.metrics:0|s0|["m0"]', 'agg/events.metrics:0|s0|["m1"]', 'agg/events.metrics:0|s0|["m2"]', 'agg/events.metrics:0|p']);
    bus.published.length = 0;
    await a.state.handle({ ...batch(30, 31, 3) }, fold); // m0 only
    const report = await a.state.round();
    expect(bus.published.map((b) => b.map((m) => m.key))).toEqual([['agg/events.metrics:0|s1|["m0"]'], ['agg/events.metrics:0|p']]);
    expect(report.series).toBe(1);
    expect(await gatewaySees(bus.bus, 'm0')).toEqual([11, [...Array(11)].reduce((s, _, i) => s + i * 3, 0), 11]);
    expect(await gatewaySees(bus.bus, 'm1')).toEqual([10, [...Array(10)].reduce((s, _, i) => s + i * 3 + 1, 0), 10]);
    await a.state.stop();
  });

  it('folds nothing into a partition while its round is serialized in slices, so the round holds exactly the state at its offset', async () => {
    const bus = faultyBus(await newBus());
    const a = await startState(bus.bus, { sliceMs: 0 }); // yield at every check: every 16 series, every 64 messages
    await a.state.handle(batch(0, 100, 100), fold); // m0 … m99, one value each
    const round = a.state.round();
    await new Promise<void>((resolve) => setImmediate(resolve)); // the round has serialized 16 series and yielded
    const folding = a.state.handle(batch(100, 300, 100), fold); // each series gets two more values
    await round;
    expect(bus.published.flat().at(-1)!.key).toBe('agg/events.metrics:0|p');
    expect(await gatewaySees(bus.bus, 'm99')).toEqual([1, 99, 1]); // the round's last series, serialized after the yield
    expect(await gatewaySees(bus.bus, 'm0')).toEqual([1, 0, 1]);
    await folding;
    expect(stateOf(a.state).nextOffset).toBe(300n);
    await a.state.round();
    expect(await gatewaySees(bus.bus, 'm99')).toEqual([3, 99 + 199 + 299, 3]);
    await a.state.stop();
  });

  it('splits a round into produce requests of at most publishMessages entries, the marker alone last', async () => {
    const bus = faultyBus(await newBus());
    const a = await startState(bus.bus, { publishMessages: 2 });
    await a.state.handle(batch(0, 5, 5), fold); // m0 … m4
    const report = await a.state.round();
    expect(bus.published.map((b) => b.length)).toEqual([2, 2, 1, 1]);
    expect(bus.published.at(-1)![0]!.key).toBe('agg/events.metrics:0|p');
    expect([report.publishes, report.maxPublishes, report.series]).toEqual([4, 4, 5]);
    await a.state.stop();
  });

  it('a restarted owner restores a partition it owned before from the topic, though it did not index its own writes', async () => {
    const bus = await newBus();
    const a = await startState(bus);
    await a.state.handle(batch(0, 10), fold);
    await a.state.round();
    for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve)); // its own round reached its view while it owned the partition
    a.state.onAssignment([]); // revoked …
    await a.state.handle(batch(10, 12), fold); // … and back: restored from the committed round (not started empty at offset 10)
    expect(a.seeks).toEqual([]);
    expect(stateOf(a.state).agg.metricStats('m0', NOW)!.stats.count).toBe(12);
    expect(stateOf(a.state).agg.metricStats('m0', NOW)!.stats.sum).toBe(sum(0, 12));
    await a.state.stop();
  });

  it('after a crash mid-round restores the previous committed round: entries of the cut-short round are never read, and the next owner deletes them', async () => {
    const bus = faultyBus(await newBus());
    const a = await startState(bus.bus, { publishBytes: 1 }); // one entry per produce request
    await a.state.handle(batch(0, 20, 2), fold);
    await a.state.round(); // committed: offset 20
    await a.state.handle(batch(20, 40, 2), fold);
    let requests = 0;
    bus.failWhen(() => ++requests === 2); // m0's entry is stored, then the process dies
    const cut = await a.state.round();
    expect([cut.partitions, cut.offsets, (cut.failed as Error).message]).toEqual([0, [], 'broker gone']);
    expect(a.commits.length).toBe(1);
    expect(await gatewaySees(bus.bus, 'm0')).toEqual([10, 90, 10]); // m0 = 0, 2, …, 18: the round-1 entry, not the stored round-2 one
    bus.failWhen(undefined);

    const b = await startState(bus.bus);
    await b.state.handle(batch(20, 40, 2), fold); // the consumer restarts at the committed offset
    expect(stateOf(b.state).agg.metricStats('m0', NOW)!.stats.count).toBe(20);
    await b.state.round();
    const keys = bus.published.slice(-2).flat().map((m) => [m.key, m.value.length > 0]);
    // The cut-short round left m0 in slot 1: deleted first, then b's round writes both series there
    // (slot 0 holds the committed ones), then the marker.
    expect(keys).toEqual([
      ['agg/events.metrics:0|s1|["m0"]', false],
      ['agg/events.metrics:0|s1|["m0"]', true],
      ['agg/events.metrics:0|s1|["m1"]', true],
      ['agg/events.metrics:0|p', true],
    ]);
    expect(await gatewaySees(bus.bus, 'm0')).toEqual([20, 380, 20]);
    expect(await gatewaySees(bus.bus, 'm1')).toEqual([20, 400, 20]);
    await b.state.stop();
  });

  it('deletes the entries of a cut-short round for a series the committed state does not have', async () => {
    const bus = faultyBus(await newBus());
    const a = await startState(bus.bus);
    await a.state.handle(batch(0, 10), fold);
    await a.state.round();
    await a.state.handle({ ...batch(10, 11), messages: [{ ...message(10), value: Buffer.from(JSON.stringify({ metric: 'new', value: 1 })) }] }, fold);
    bus.failWhen((ms) => ms.some((m) => m.key!.endsWith('|p')));
    await a.state.round(); // the entry of "new" is stored, the marker is not
    bus.failWhen(undefined);
    const b = await startState(bus.bus);
    await b.state.handle(batch(10, 11), fold); // replayed as m0 this time: "new" never existed
    await b.state.round();
    expect(bus.published.at(-2)!.map((m) => [m.key, m.value.length])).toEqual([
      ['agg/events.metrics:0|s0|["new"]', 0],
      ['agg/events.metrics:0|s1|["m0"]', expect.any(Number)],
    ]);
    expect(await gatewaySees(bus.bus, 'new')).toBe(undefined);
    expect(await gatewaySees(bus.bus, 'm0')).toEqual([11, sum(0, 11), 11]);
    await b.state.stop();
  });

  it('removes an idle series with a deletion record first, then deletes its two slots over the next two rounds', async () => {
    const bus = faultyBus(await newBus());
    const a = await startState(bus.bus, {
      createAggregator: () => new StreamingAggregator({ windowSeconds: 10, rateWindowSeconds: 10, idleExpiryMs: 20_000 }),
      beforeRound: (p) => p.agg.expire(p.watermark.ms),
    });
    await a.state.handle(batch(0, 1), fold); // m0 at T0
    await a.state.round();
    await a.state.handle(batch(1, 2), fold); // slot 1
    await a.state.round();
    const late = { ...message(100), value: Buffer.from(JSON.stringify({ metric: 'other', value: 5 })) };
    await a.state.handle({ ...batch(2, 3), messages: [{ ...late, offset: '2' }] }, fold); // watermark +100 s: m0 is idle
    bus.published.length = 0;
    await a.state.round();
    // "other" is new (slot 0); m0's deletion record goes to the slot its committed entry (round 2, slot 1) is not in.
    expect(bus.published.flat().map((m) => [m.key, m.value.length > 0])).toEqual([
      ['agg/events.metrics:0|s0|["other"]', true],
      ['agg/events.metrics:0|s0|["m0"]', true],
      ['agg/events.metrics:0|p', true],
    ]);
    expect(await gatewaySees(bus.bus, 'm0')).toBe(undefined);
    bus.published.length = 0;
    await a.state.round(); // phase 1: the older slot
    await a.state.round(); // phase 2: the deletion record
    expect(bus.published.map((b) => b.map((m) => [m.key, m.value.length > 0]))).toEqual([
      [['agg/events.metrics:0|s1|["m0"]', false]],
      [['agg/events.metrics:0|p', true]],
      [['agg/events.metrics:0|s0|["m0"]', false]],
      [['agg/events.metrics:0|p', true]],
    ]);
    await a.state.stop();
  });

  it('reads a partition back from the topic when it returns after this process owned it (no copy was kept)', async () => {
    const bus = await newBus();
    const a = await startState(bus);
    await a.state.handle(batch(0, 10), fold);
    await a.state.round();
    a.state.onAssignment([]); // revoked
    expect(a.state.partitions()).toEqual([]);
    a.state.onAssignment([{ topic: 'events.metrics', partition: 0 }]);
    await a.state.handle(batch(10, 12), fold);
    expect(stateOf(a.state).agg.metricStats('m0', NOW)!.stats.sum).toBe(sum(0, 12));
    await a.state.stop();
  });

  it('restores a snapshot of the previous format (whole partition, chunked), rewrites it as series entries and deletes its chunks', async () => {
    const bus = faultyBus(await newBus());
    const old = new StreamingAggregator({ windowSeconds: 3600, rateWindowSeconds: 60 });
    for (let i = 0; i < 8; i++) old.recordMetric('m0', undefined, i, T0 + i * 1000, T0 + i * 1000);
    const state = old.serialize();
    const header = partitionSnapshotHeader({ nextOffset: 8n, watermarkMs: T0 + 7000, producedAtMs: T0 });
    const chunks = encodeSnapshotChunks(snapshotKey(GROUP, 'events.metrics', 0), [header, state], 8n, 0, { chunkBytes: 64 });
    await bus.bus.publishBatch(chunks.map((c) => ({ topic: TOPIC, key: c.key, value: c.value })));
    bus.published.length = 0;
    const b = await startState(bus.bus);
    await b.state.handle(batch(8, 10), fold);
    await b.state.round();
    const deleted = bus.published.flat().filter((m) => m.value.length === 0).map((m) => m.key).sort();
    expect(deleted).toEqual(chunks.map((c) => c.key).sort());
    expect(await gatewaySees(bus.bus)).toEqual([10, sum(0, 10), 10]);
    await b.state.stop();
  });

  it('skips the history of a partition never aggregated before, from the horizon on', async () => {
    const bus = await newBus();
    await bus.publishBatch(Array.from({ length: 10 }, (_, i) => ({ topic: 'events.metrics', key: 'k', value: '{}', timestampMs: T0 + i * 1000 })));
    const a = await startState(bus, { historyHorizonMs: () => T0 + 6000 });
    await a.state.handle(batch(0, 10), fold);
    expect(stateOf(a.state).nextOffset).toBe(10n);
    expect(stateOf(a.state).agg.metricStats('m0', NOW)!.stats.sum).toBe(sum(6, 10));
    await a.state.stop();
  });
});

import { EventTimeWatermark, StreamingAggregator, encodeSnapshotChunks, partitionSnapshotHeader, snapshotKey } from '@pipeline/aggregation';
import { InMemoryBus, type EventBus, type IncomingMessage, type MessageBatch, type OutgoingMessage, type Subscription, type TopicPartitionOffset } from '@pipeline/kafka';
import { ExactlyOnceState, type FencingEvent, type LivePartition } from './ExactlyOnceState';
import { StateUnavailableError } from './errors';
import { decodeMarker, decodeSeriesEntry } from './liveStateRecords';
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
    // The claim of a new owner first (its epoch, before anything is folded), then the round.
    expect(bus.published.flat().map((m) => m.key)).toEqual(['agg/events.metrics:0|p', 'agg/events.metrics:0|s0|["m0"]', 'agg/events.metrics:0|s0|["m1"]', 'agg/events.metrics:0|s0|["m2"]', 'agg/events.metrics:0|p']);
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
    bus.published.length = 0; // the claim
    const report = await a.state.round();
    expect(bus.published.map((b) => b.length)).toEqual([2, 2, 1, 1]);
    expect(bus.published.at(-1)![0]!.key).toBe('agg/events.metrics:0|p');
    expect([report.publishes, report.maxPublishes, report.series]).toEqual([4, 4, 5]);
    await a.state.stop();
  });

  it('writes each series\' principal in its entries, and a restarted owner restores it (the view counts live series per principal)', async () => {
    const bus = await newBus();
    const a = await startState(bus);
    /** m0, m1 … as `fold`, created by the principal named in the message's headers. */
    const foldOwned = (p: LivePartition, m: IncomingMessage) => {
      const { metric, value } = JSON.parse(m.value.toString()) as { metric: string; value: number };
      p.watermark.observe(m.timestampMs, m.timestampMs);
      p.agg.recordMetric(metric, undefined, value, m.timestampMs, p.watermark.ms, m.headers['pipeline-principal']);
    };
    const owned = (from: number, to: number, principal: string | undefined): MessageBatch => {
      const b = batch(from, to, 3);
      for (const m of b.messages) if (principal !== undefined) m.headers = { 'pipeline-principal': principal };
      return b;
    };
    await a.state.handle(owned(0, 2, 'key:aaaaaaaaaaaa'), foldOwned); // m0, m1: A's
    await a.state.handle(owned(2, 4, 'key:bbbbbbbbbbbb'), foldOwned); // m2: B's; m0 already A's
    await a.state.round();
    await a.state.stop();
    const b = await startState(bus);
    await b.state.handle(owned(4, 6, undefined), foldOwned);
    const agg = stateOf(b.state).agg;
    expect(['m0', 'm1', 'm2'].map((metric) => agg.seriesPrincipal({ metric }))).toEqual(['key:aaaaaaaaaaaa', 'key:aaaaaaaaaaaa', 'key:bbbbbbbbbbbb']);
    await b.state.round(); // rewrites m1, m2 in its epoch, with their principals
    const view = new LiveStatsView({ group: GROUP, inputPartitions: new Map([['events.metrics', 1]]) });
    await bus.readRange({ topic: TOPIC, toMs: Number.MAX_SAFE_INTEGER, onBatch: (ms) => ms.forEach((m) => view.feed(m.key, m.value)) });
    expect([view.liveSeriesOf('key:aaaaaaaaaaaa', 'events.metrics'), view.liveSeriesOf('key:bbbbbbbbbbbb', 'events.metrics')]).toEqual([2, 1]);
    await b.state.stop();
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

/**
 * A bus whose writes can be held "in the network": while held, publishBatch resolves at once (the
 * writer believes them acknowledged) and the messages reach the topic only at `release` — a
 * replica paused (GC, SIGSTOP) between its write and the broker, or one writing after it woke up.
 */
function delayedBus(bus: EventBus) {
  let held: OutgoingMessage[][] | undefined;
  const proxy: EventBus = Object.assign(Object.create(bus) as EventBus, {
    publishBatch: async (messages: readonly OutgoingMessage[]) => {
      if (held) held.push([...messages]);
      else await bus.publishBatch(messages);
    },
  });
  return {
    bus: proxy,
    hold: () => void (held = []),
    release: async () => {
      const writes = held ?? [];
      held = undefined;
      for (const w of writes) await bus.publishBatch(w);
      return writes.flat();
    },
  };
}

/** The whole topic as a reader gets it: every message in order, or (`compacted`) only the last value of each key, as after log compaction. */
async function topicMessages(bus: EventBus, compacted = false): Promise<Array<[string, Buffer]>> {
  const all: Array<[string, Buffer]> = [];
  await bus.readRange({ topic: TOPIC, toMs: Number.MAX_SAFE_INTEGER, onBatch: (ms) => ms.forEach((m) => all.push([m.key!, m.value])) });
  if (!compacted) return all;
  const last = new Map<string, Buffer>();
  for (const [k, v] of all) {
    last.delete(k);
    last.set(k, v);
  }
  return [...last].filter(([, v]) => v.length > 0);
}

async function viewOf(bus: EventBus, compacted = false): Promise<LiveStatsView> {
  const view = new LiveStatsView({ group: GROUP });
  for (const [k, v] of await topicMessages(bus, compacted)) view.feed(k, v);
  return view;
}

const countAndSum = (view: LiveStatsView) => {
  const s = view.metricStats('m0', NOW);
  return s && [s.stats.count, s.stats.sum];
};

describe('ExactlyOnceState fencing', () => {
  it('a new owner claims the epoch above the previous owner, readers keep the restored round until its first round, which rewrites every series in its epoch', async () => {
    const bus = faultyBus(await newBus());
    const a = await startState(bus.bus);
    await a.state.handle(batch(0, 20, 2), fold); // m0, m1
    await a.state.round();
    await a.state.stop();
    expect(bus.published.flat().filter((m) => m.key!.endsWith('|p')).map((m) => decodeMarker(m.value as Buffer)).map((m) => [m.epoch, m.entryEpoch, m.round])).toEqual([
      [1n, 1n, 0n], // A's claim of a new partition
      [1n, 1n, 1n],
    ]);
    bus.published.length = 0;

    const b = await startState(bus.bus);
    await b.state.handle(batch(20, 21, 2), fold); // restore, claim, fold m0's offset 20
    const claim = decodeMarker(bus.published.flat()[0]!.value as Buffer);
    expect([claim.epoch, claim.entryEpoch, claim.round, claim.nextOffset]).toEqual([2n, 1n, 1n, 20n]); // A's round 1, under epoch 2
    expect(countAndSum(await viewOf(bus.bus))).toEqual([10, sum(0, 10) * 2]); // still A's round: m0 = 0, 2, …, 18
    bus.published.length = 0;
    await b.state.round();
    const written = bus.published.flat();
    // Both series in B's epoch (m1 unchanged since A's round, too), then the marker committing epoch 2's entries.
    expect(written.map((m) => m.key)).toEqual(['agg/events.metrics:0|s1|["m0"]', 'agg/events.metrics:0|s1|["m1"]', 'agg/events.metrics:0|p']);
    expect(written.slice(0, 2).map((m) => decodeSeriesEntry(m.value as Buffer).epoch)).toEqual([2n, 2n]);
    expect([decodeMarker(written[2]!.value as Buffer).epoch, decodeMarker(written[2]!.value as Buffer).entryEpoch]).toEqual([2n, 2n]);
    const view = await viewOf(bus.bus);
    expect([countAndSum(view), view.metricStats('m1', NOW)!.stats.count, view.fencedWrites]).toEqual([[11, sum(0, 10) * 2 + 20], 10, 0]);
    await b.state.stop();
  });

  it('ignores a round the old owner writes after the new owner took over, in the view and in the next restore, and the new owner rewrites the keys it hit', async () => {
    const bus = await newBus();
    const slow = delayedBus(bus);
    const a = await startState(slow.bus);
    await a.state.handle(batch(0, 10), fold);
    await a.state.round(); // committed: epoch 1, round 1, offset 10
    await a.state.handle(batch(10, 15), fold);
    slow.hold(); // A pauses with its round 2 on the way
    await a.state.round();

    const events: FencingEvent[] = [];
    const b = await startState(bus, { onFenced: (e) => void events.push(e) });
    await b.state.handle(batch(10, 20), fold); // B restores A's round 1 and claims epoch 2
    await b.state.round(); // B's round 2: m0 (10 … 19 on top of A's 0 … 9) in slot 1, epoch 2

    const stale = await slow.release(); // A wakes: its round 2 lands after B's
    expect(stale.map((m) => [m.key, m.key!.endsWith('|p') ? decodeMarker(m.value as Buffer).epoch : decodeSeriesEntry(m.value as Buffer).epoch])).toEqual([
      ['agg/events.metrics:0|s1|["m0"]', 1n],
      ['agg/events.metrics:0|p', 1n],
    ]);
    const view = await viewOf(bus);
    expect([countAndSum(view), view.fencedWrites]).toEqual([[20, sum(0, 20)], 2]); // not A's 15, nor 15 + 10

    // B reads A's writes on its partition: both reported, and its next round rewrites m0 (into slot 0) and its marker.
    await b.state.catchUp();
    // (keys of one partition spread over the topic's partitions: their relative order is not defined)
    expect(events.map((e) => [e.kind, e.key, e.epoch, e.ownEpoch]).sort()).toEqual([
      ['stale_write', 'agg/events.metrics:0|p', 1n, 2n],
      ['stale_write', 'agg/events.metrics:0|s1|["m0"]', 1n, 2n],
    ]);
    // Compacted before B's repair, the topic would keep only A's values of those two keys: a reader
    // would see A's stale round 2 (offset 15), not B's — the case the repair is for.
    expect(countAndSum(await viewOf(bus, true))).toEqual([15, sum(0, 15)]);
    const repair = await b.state.round();
    expect([repair.partitions, repair.series]).toEqual([1, 1]);
    expect(countAndSum(await viewOf(bus, true))).toEqual([20, sum(0, 20)]);

    // A later owner restores B's state, not A's: B crashes, C resumes at B's offset 20.
    await b.state.stop();
    const c = await startState(bus);
    await c.state.handle(batch(15, 25), fold);
    expect([stateOf(c.state).agg.metricStats('m0', NOW)!.stats.count, stateOf(c.state).agg.metricStats('m0', NOW)!.stats.sum]).toEqual([25, sum(0, 25)]);
    await c.state.round();
    expect(countAndSum(await viewOf(bus))).toEqual([25, sum(0, 25)]);
    expect(countAndSum(await viewOf(bus, true))).toEqual([25, sum(0, 25)]);
    await a.state.stop();
    await c.state.stop();
  });

  it('a replica that reads a later owner\'s claim drops the partition and writes nothing more for it', async () => {
    const bus = faultyBus(await newBus());
    const events: FencingEvent[] = [];
    const a = await startState(bus.bus, { onFenced: (e) => void events.push(e) });
    await a.state.handle(batch(0, 10), fold);
    await a.state.round();
    const b = await startState(bus.bus);
    await b.state.handle(batch(10, 12), fold); // B's claim, epoch 2
    await a.state.handle(batch(10, 15), fold); // A still gets a batch it had fetched
    await a.state.catchUp();
    bus.published.length = 0;
    const report = await a.state.round();
    expect([report.partitions, bus.published.length, a.state.partitions().length]).toEqual([0, 0, 0]);
    expect(events.map((e) => [e.kind, e.epoch, e.ownEpoch])).toEqual([['superseded', 2n, 1n]]);
    await a.state.stop();
    await b.state.stop();
  });

  it('of two replicas that pick the same epoch, only the one whose claim is first on the topic writes under it; the other restores again above it', async () => {
    const bus = await newBus();
    const slow = delayedBus(bus);
    const a = await startState(slow.bus);
    const b = await startState(bus);
    slow.hold(); // A reads the topic and picks epoch 1, but its claim is delayed
    await expect(a.state.handle(batch(0, 5), fold)).rejects.toThrow(new StateUnavailableError('another replica claimed agg/events.metrics:0 at epoch 1 first; restoring again above it'));
    await b.state.handle(batch(0, 5), fold); // B picks epoch 1 too, and its claim is on the topic first
    await slow.release(); // A's claim of epoch 1 lands second: ignored by B and by readers
    await b.state.catchUp();
    expect(b.state.partitions().length).toBe(1);
    await expect(a.state.handle(batch(0, 5), fold)).resolves.toBeUndefined(); // A restores again: epoch above both claims
    await a.state.catchUp();
    await b.state.catchUp();
    expect([a.state.partitions().length, b.state.partitions().length]).toEqual([1, 0]); // A's new claim supersedes B
    await a.state.stop();
    await b.state.stop();
  });

  it('restores markers and entries written before fencing (no epoch) as epoch 0, and claims epoch 1 over them', async () => {
    const bus = faultyBus(await newBus());
    const agg = new StreamingAggregator({ windowSeconds: 3600, rateWindowSeconds: 60 });
    for (let i = 0; i < 10; i++) agg.recordMetric('m0', undefined, i, T0 + i * 1000, T0 + i * 1000);
    const base = 'agg/events.metrics:0';
    // Version 1: magic, version, decimal round [and nextOffset], then the rest — as the aggregator wrote it before epochs.
    const dec = (n: number) => Buffer.concat([Buffer.from([0, String(n).length]), Buffer.from(String(n))]);
    const times = Buffer.alloc(16);
    times.writeDoubleBE(T0 + 9000, 0);
    times.writeDoubleBE(T0, 8);
    const v1Entry = Buffer.concat([Buffer.from([0x4c, 0x53, 1]), dec(3), Buffer.from([1]), agg.serializeSeries({ metric: 'm0' })!]);
    const v1Marker = Buffer.concat([Buffer.from([0x4c, 0x4d, 1]), dec(3), dec(10), times, agg.serializeShared()]);
    await bus.bus.publishBatch([{ topic: TOPIC, key: `${base}|s1|["m0"]`, value: v1Entry }, { topic: TOPIC, key: `${base}|p`, value: v1Marker }]);
    expect([decodeSeriesEntry(v1Entry).epoch, decodeMarker(v1Marker).epoch, decodeMarker(v1Marker).entryEpoch]).toEqual([0n, 0n, 0n]);
    expect(countAndSum(await viewOf(bus.bus))).toEqual([10, sum(0, 10)]);
    bus.published.length = 0;

    const b = await startState(bus.bus);
    await b.state.handle(batch(10, 12), fold);
    const claim = decodeMarker(bus.published.flat()[0]!.value as Buffer);
    expect([claim.epoch, claim.entryEpoch, claim.round]).toEqual([1n, 0n, 3n]);
    expect(countAndSum(await viewOf(bus.bus))).toEqual([10, sum(0, 10)]); // the claim still commits the epoch-0 entry
    await b.state.round();
    expect(countAndSum(await viewOf(bus.bus))).toEqual([12, sum(0, 12)]);
    expect(countAndSum(await viewOf(bus.bus, true))).toEqual([12, sum(0, 12)]);
    await b.state.stop();
  });
});

import { AggregateView, SnapshotAssembler, StreamingAggregator, encodePartitionSnapshot, encodeSnapshotChunks, partitionSnapshotHeader, snapshotKey, type SnapshotChunkMessage } from './index';

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);
const BASE = snapshotKey('agg', 'events.metrics', 3);

function encoded(values: number[], nextOffset: bigint): Buffer {
  const a = new StreamingAggregator();
  values.forEach((v, i) => a.recordMetric('latency', `g${i % 7}`, v, T0 + i, T0 + i));
  return encodePartitionSnapshot({ nextOffset, watermarkMs: T0, producedAtMs: T0, state: a.serialize() });
}

function values(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => ((i * 7919 + seed) % 1000) / 7);
}

/** What a reader of a compacted topic sees: the last message per key, in first-write order. */
function compacted(messages: SnapshotChunkMessage[]): SnapshotChunkMessage[] {
  const last = new Map<string, SnapshotChunkMessage>();
  for (const m of messages) last.set(m.key, m);
  return [...last.values()];
}

describe('snapshot chunks', () => {
  it('splits a snapshot into chunks that reassemble, in any order, into the same bytes', () => {
    const bytes = encoded(values(500, 1), 42n);
    const chunks = encodeSnapshotChunks(BASE, bytes, 42n, 0, { chunkBytes: 1000 });
    expect(chunks.length).toBe(Math.ceil(bytes.length / 1000));
    const errors: unknown[] = [];
    const asm = new SnapshotAssembler('agg', (e) => errors.push(e));
    const shuffled = [...chunks].reverse();
    const results = shuffled.map((c) => asm.add(c.key, c.value));
    expect(results.slice(0, -1).every((r) => r === undefined)).toBe(true);
    const done = results[results.length - 1]!;
    expect([done.topic, done.partition, done.nextOffset]).toEqual(['events.metrics', 3, 42n]);
    expect(Buffer.from(done.state).equals(bytes.subarray(bytes.length - done.state.length))).toBe(true);
    expect(asm.get(BASE)).toBe(done);
    expect(asm.known(BASE)).toEqual({ nextOffset: 42n, set: 0 });
    expect(errors).toEqual([]);
  });

  it('chunks the header and state given as parts exactly as the joined snapshot', () => {
    const a = new StreamingAggregator();
    values(700, 5).forEach((v, i) => a.recordMetric('latency', `g${i % 9}`, v, T0 + i, T0 + i));
    const meta = { nextOffset: 77n, watermarkMs: T0, producedAtMs: T0 + 1 };
    const state = a.serialize();
    const joined = encodeSnapshotChunks(BASE, encodePartitionSnapshot({ ...meta, state }), 77n, 1, { chunkBytes: 333 });
    const parts = encodeSnapshotChunks(BASE, [partitionSnapshotHeader(meta), state], 77n, 1, { chunkBytes: 333 });
    expect(parts).toEqual(joined);
  });

  it('keeps the last complete round when the next one is cut short, even after compaction', () => {
    const r1 = encodeSnapshotChunks(BASE, encoded(values(400, 1), 100n), 100n, 0, { chunkBytes: 500 });
    const r2 = encodeSnapshotChunks(BASE, encoded(values(800, 2), 200n), 200n, 1, { chunkBytes: 500 });
    const written = [...r1, ...r2.slice(0, Math.floor(r2.length / 2))]; // crash halfway through round 2
    for (const log of [written, compacted(written)]) {
      const asm = new SnapshotAssembler('agg', () => undefined);
      log.forEach((m) => asm.add(m.key, m.value));
      expect(asm.get(BASE)?.nextOffset).toBe(100n);
      expect(asm.known(BASE)?.set).toBe(0); // so the writer's retry goes to set 1 again
    }
    // The retried round 2 completes and wins; a stale round-1 chunk read afterwards changes nothing.
    const asm = new SnapshotAssembler('agg', () => undefined);
    [...written, ...r2, r1[0]!].forEach((m) => asm.add(m.key, m.value));
    expect(asm.get(BASE)?.nextOffset).toBe(200n);
    expect(asm.known(BASE)?.set).toBe(1);
  });

  it('tombstones the chunk indices a smaller round no longer uses, and a round of fewer chunks still completes', () => {
    const big = encodeSnapshotChunks(BASE, encoded(values(900, 1), 10n), 10n, 0, { chunkBytes: 400 });
    const small = encodeSnapshotChunks(BASE, encoded(values(20, 3), 30n), 30n, 0, { chunkBytes: 400, previousCount: big.length });
    const live = small.filter((m) => m.value.length > 0);
    expect(small.length).toBe(big.length);
    expect(small.slice(live.length).every((m) => m.value.length === 0)).toBe(true);
    const asm = new SnapshotAssembler('agg', () => undefined);
    compacted([...big, ...small]).forEach((m) => asm.add(m.key, m.value.length === 0 ? null : m.value));
    expect(asm.get(BASE)?.nextOffset).toBe(30n);
  });

  it('ignores other groups, reads un-chunked snapshots, and reports undecodable or mismatched chunks without throwing', () => {
    const errors: string[] = [];
    const asm = new SnapshotAssembler('agg', (_e, key) => errors.push(key));
    const bytes = encoded([1, 2, 3], 7n);
    const [chunk] = encodeSnapshotChunks(BASE, bytes, 7n, 1);
    expect(asm.add(chunk!.key.replace('agg/', 'other/'), chunk!.value)).toBeUndefined();
    expect(asm.add(null, chunk!.value)).toBeUndefined();
    expect(asm.add(`${BASE}#1.5`, chunk!.value)).toBeUndefined(); // header says chunk 0
    expect(asm.add(`${BASE}#0.0`, Buffer.from('garbage-garbage-garbage'))).toBeUndefined();
    expect(errors).toEqual([`${BASE}#1.5`, `${BASE}#0.0`]);
    expect(asm.add(BASE, bytes)?.nextOffset).toBe(7n); // written before chunking existed
    expect(asm.add(chunk!.key, chunk!.value)).toBeUndefined(); // same round: not more advanced
    expect(asm.size).toBe(1);
  });

  it('tracks rounds without holding payloads for keys it does not retain, and releases held ones on request', () => {
    const other = snapshotKey('agg', 'events.metrics', 4);
    const asm = new SnapshotAssembler('agg', () => undefined, { retain: (key) => key !== BASE });
    const mine = encodeSnapshotChunks(BASE, encoded(values(300, 1), 9n), 9n, 1, { chunkBytes: 300 });
    const theirs = encodeSnapshotChunks(other, encoded(values(30, 2), 5n), 5n, 0, { chunkBytes: 300 });
    [...mine, ...theirs].forEach((m) => asm.add(m.key, m.value));
    expect(asm.get(BASE)).toBeUndefined();
    expect(asm.known(BASE)).toEqual({ nextOffset: 9n, set: 1 });
    expect(asm.get(other)?.nextOffset).toBe(5n);
    asm.release(other);
    expect([asm.get(other), asm.known(other)?.nextOffset, asm.size]).toEqual([undefined, 5n, 2]);
  });

  it('feeds an AggregateView from raw snapshot-topic messages', () => {
    const view = new AggregateView({ group: 'agg' });
    for (const m of encodeSnapshotChunks(BASE, encoded([5, 6, 7], 3n), 3n, 0, { chunkBytes: 64 })) view.feed(m.key, m.value);
    expect(view.aggregate()?.metricStats('latency', T0 + 1000)?.stats.count).toBe(3);
  });
});

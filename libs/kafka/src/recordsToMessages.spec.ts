import type { fetchV17 } from '@platformatic/kafka';
import { recordsToMessages, toRawHeader } from './recordsToMessages';

type RecordsBatch = NonNullable<fetchV17.FetchResponsePartition['records']>[number];
type KafkaRecord = RecordsBatch['records'][number];

const record = (offsetDelta: number, value: string | null, opts: { key?: string; timestampDelta?: bigint; headers?: [string, string][] } = {}): KafkaRecord => ({
  length: 0,
  attributes: 0,
  timestampDelta: opts.timestampDelta ?? 0n,
  offsetDelta,
  key: opts.key === undefined ? null : Buffer.from(opts.key),
  value: value === null ? null : Buffer.from(value),
  headers: (opts.headers ?? []).map(([k, v]) => [Buffer.from(k), Buffer.from(v)]),
});

const batch = (firstOffset: bigint, records: KafkaRecord[], opts: { attributes?: number; firstTimestamp?: bigint; lastOffsetDelta?: number } = {}): RecordsBatch => ({
  firstOffset,
  length: 0,
  partitionLeaderEpoch: 0,
  magic: 2,
  crc: 0,
  attributes: opts.attributes ?? 0,
  lastOffsetDelta: opts.lastOffsetDelta ?? records.length - 1,
  firstTimestamp: opts.firstTimestamp ?? 1_700_000_000_000n,
  maxTimestamp: 0n,
  producerId: -1n,
  producerEpoch: -1,
  firstSequence: -1,
  records,
});

const partition = (records: RecordsBatch[]): fetchV17.FetchResponsePartition => ({
  partitionIndex: 2,
  errorCode: 0,
  highWatermark: 100n,
  lastStableOffset: 100n,
  logStartOffset: 0n,
  abortedTransactions: null,
  preferredReadReplica: -1,
  records,
});

describe('recordsToMessages', () => {
  it('turns records at/after the fetch offset into messages with decimal offsets, keys, record timestamps and headers', () => {
    const p = partition([batch(10n, [record(0, 'a'), record(1, 'b', { key: 'k', timestampDelta: 5n, headers: [['h', 'v']] }), record(2, null)])]);
    expect(recordsToMessages('t', p, 11n)).toEqual({
      messages: [
        { topic: 't', partition: 2, offset: '11', key: 'k', value: Buffer.from('b'), timestampMs: 1_700_000_000_005, headers: { h: 'v' } },
        { topic: 't', partition: 2, offset: '12', key: null, value: Buffer.alloc(0), timestampMs: 1_700_000_000_000, headers: {} },
      ],
      nextOffset: 13n,
      lastOffset: 12n,
      skipped: 0,
    });
  });

  it('moves past a transaction marker and a batch wholly below the fetch offset without delivering them', () => {
    const p = partition([batch(5n, [record(0, 'old')]), batch(6n, [record(0, 'marker')], { attributes: 1 << 5 })]);
    expect(recordsToMessages('t', p, 6n)).toEqual({ messages: [], nextOffset: 7n, lastOffset: undefined, skipped: 0 });
  });

  it('passes over records carrying the skip header, counting them and their offsets', () => {
    const p = partition([batch(0n, [record(0, 'x', { headers: [['pipeline-validated', '1']] }), record(1, 'y'), record(2, 'z', { headers: [['pipeline-validated', '1']] })])]);
    const out = recordsToMessages('t', p, 0n, toRawHeader({ name: 'pipeline-validated', value: '1' }));
    expect({ offsets: out.messages.map((m) => m.offset), lastOffset: out.lastOffset, skipped: out.skipped }).toEqual({ offsets: ['1'], lastOffset: 2n, skipped: 2 });
  });

  it('keeps offsets beyond 2^53 exact', () => {
    const base = 2n ** 60n;
    const out = recordsToMessages('t', partition([batch(base, [record(0, 'a'), record(3, 'b')], { lastOffsetDelta: 3 })]), base + 1n);
    expect({ offsets: out.messages.map((m) => m.offset), lastOffset: out.lastOffset, nextOffset: out.nextOffset }).toEqual({ offsets: [(base + 3n).toString()], lastOffset: base + 3n, nextOffset: base + 4n });
  });
});

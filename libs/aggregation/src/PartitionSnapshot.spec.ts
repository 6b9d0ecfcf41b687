import { AggregateView, StreamingAggregator, decodePartitionSnapshot, encodePartitionSnapshot, snapshotKey } from './index';

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);

function aggWith(values: number[], group?: string): StreamingAggregator {
  const a = new StreamingAggregator({ windowSeconds: 300 });
  for (const v of values) a.recordMetric('latency', group, v, T0, T0);
  return a;
}

describe('PartitionSnapshot', () => {
  it('round-trips offset, watermark and state', () => {
    const state = aggWith([1, 2, 3]).serialize();
    const bytes = encodePartitionSnapshot({ nextOffset: 12345678901234n, watermarkMs: T0, producedAtMs: T0 + 5, state });
    const back = decodePartitionSnapshot(snapshotKey('agg', 'events.metrics', 2), bytes);
    expect({ ...back, state: Buffer.from(back.state).equals(Buffer.from(state)) }).toEqual({
      group: 'agg',
      topic: 'events.metrics',
      partition: 2,
      nextOffset: 12345678901234n,
      watermarkMs: T0,
      producedAtMs: T0 + 5,
      state: true,
    });
  });
  it('rejects bad keys and bytes with clear errors', () => {
    expect(() => decodePartitionSnapshot('events.metrics:1', Buffer.alloc(30))).toThrow('snapshot key must be <group>/<topic>:<partition>, got "events.metrics:1"');
    expect(() => decodePartitionSnapshot('g/t:1', Buffer.alloc(30))).toThrow('not a partition snapshot (bad magic)');
  });
});

describe('AggregateView merge order', () => {
  it('gives bit-identical results whatever order the partition snapshots arrive in', () => {
    const values = [[0.1, 0.7, 1e9 + 0.3], [2.2, -5.5, 3.3e-7], [1 / 3, 2 / 3, 1e-3]];
    const snaps = values.map((vs, p) => ({
      group: 'agg', topic: 'events.metrics', partition: p, nextOffset: 1n, watermarkMs: T0, producedAtMs: T0, state: aggWith(vs).serialize(),
    }));
    const results = [[0, 1, 2], [2, 1, 0], [1, 2, 0]].map((order) => {
      const view = new AggregateView();
      for (const i of order) view.apply(`agg/events.metrics:${i}`, snaps[i]!);
      return view.aggregate()!.metricStats('latency', T0 + 1000)!.stats;
    });
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });
});

describe('AggregateView', () => {
  it('merges the most advanced snapshot of each partition and ignores older ones', () => {
    const view = new AggregateView();
    const snap = (values: number[], nextOffset: bigint, group: string) => ({
      group: 'agg', topic: 'events.metrics', partition: 0, nextOffset, watermarkMs: T0, producedAtMs: T0, state: aggWith(values, group).serialize(),
    });
    expect(view.apply('agg/events.metrics:0', snap([1, 2], 2n, 'a'))).toBe(true);
    expect(view.apply('agg/events.metrics:1', { ...snap([10], 1n, 'b'), partition: 1 })).toBe(true);
    expect(view.apply('agg/events.metrics:0', snap([1], 1n, 'a'))).toBe(false); // older: ignored
    const stats = view.aggregate()!.metricStats('latency', T0 + 1000)!;
    expect([stats.stats.count, stats.stats.sum, stats.stats.min, stats.stats.max, Object.keys(stats.groups).sort()]).toEqual([3, 13, 1, 10, ['a', 'b']]);
    expect(view.apply('agg/events.metrics:0', snap([1, 2, 3], 3n, 'a'))).toBe(true);
    expect(view.aggregate()!.metricStats('latency', T0 + 1000)!.stats.sum).toBe(16);
  });
});

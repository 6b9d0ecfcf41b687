import { StreamingAggregator, type SeriesRef } from '@pipeline/aggregation';
import { markerKey, partitionBase, seriesKey, type Slot } from './liveStateKeys';
import { encodeMarker, encodeSeriesEntry } from './liveStateRecords';
import { LiveStatsView } from './LiveStatsView';

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
const NOW = T0 + 60_000;

/** The messages one writer round of partition `p` puts on the state topic for `refs` of `agg` (marker last). */
function round(agg: StreamingAggregator, p: number, r: number, refs: SeriesRef[], slot: Slot = 0): Array<[string, Buffer]> {
  const base = partitionBase('agg', 'events.metrics', p);
  return [
    ...refs.map((ref): [string, Buffer] => [seriesKey(base, slot, ref), encodeSeriesEntry({ round: BigInt(r), state: agg.serializeSeries(ref) })]),
    [markerKey(base), encodeMarker({ round: BigInt(r), nextOffset: BigInt(r * 10), watermarkMs: NOW, producedAtMs: NOW, shared: agg.serializeShared() })],
  ];
}

function partitions(n: number, metrics: number) {
  const parts = Array.from({ length: n }, () => new StreamingAggregator());
  const single = new StreamingAggregator();
  for (let i = 0; i < 600; i++) {
    const metric = `m${i % metrics}`;
    const group = `g${i % 4}`;
    const value = ((i * 7919) % 1000) / 4 - 100;
    parts[i % n]!.recordMetric(metric, group, value, T0 + i * 10, T0 + i * 10);
    single.recordMetric(metric, group, value, T0 + i * 10, T0 + i * 10);
  }
  return { parts, single };
}

describe('LiveStatsView', () => {
  it('answers a metric as one aggregator fed every partition would, merging only that metric', () => {
    const { parts, single } = partitions(3, 5);
    const view = new LiveStatsView({ group: 'agg' });
    parts.forEach((agg, p) => round(agg, p, 1, [...agg.series()]).forEach(([k, v]) => view.feed(k, v)));
    const loads = jest.spyOn(StreamingAggregator.prototype, 'loadSeries');
    try {
      expect(view.metricStats('m3', NOW)).toEqual(single.metricStats('m3', NOW));
      expect(loads.mock.calls.every(([ref]) => ref.metric === 'm3')).toBe(true);
      expect(loads).toHaveBeenCalledTimes(3 * 5); // per partition: the overall series and 4 groups
      view.metricStats('m3', NOW, 'g1');
      expect(loads).toHaveBeenCalledTimes(15); // cached until one of m3's entries changes
      round(parts[0]!, 0, 2, [{ metric: 'm1' }], 1).forEach(([k, v]) => view.feed(k, v));
      expect(view.metricStats('m3', NOW, 'g1')).toEqual(single.metricStats('m3', NOW, 'g1'));
      expect(loads).toHaveBeenCalledTimes(15); // another metric's round does not touch it
    } finally {
      loads.mockRestore();
    }
    expect(view.metricStats('nope', NOW)).toBe(undefined);
    expect(view.hasMetric('m0')).toBe(true);
  });

  it('keeps answering from the committed round until the marker of the next one arrives, whatever order the messages come in', () => {
    const agg = new StreamingAggregator();
    agg.recordMetric('cpu', undefined, 1, T0, T0);
    const view = new LiveStatsView();
    round(agg, 0, 1, [{ metric: 'cpu' }], 0).forEach(([k, v]) => view.feed(k, v));
    agg.recordMetric('cpu', undefined, 2, T0, T0);
    const [entry, marker] = round(agg, 0, 2, [{ metric: 'cpu' }], 1);
    view.feed(...entry!);
    expect(view.metricStats('cpu', NOW)!.stats.count).toBe(1); // round 2 is not committed yet
    view.feed(...marker!);
    expect(view.metricStats('cpu', NOW)!.stats.count).toBe(2);
    // A marker ahead of its entries (they sit on other topic partitions) keeps the older committed entry.
    agg.recordMetric('cpu', undefined, 3, T0, T0);
    const [entry3, marker3] = round(agg, 0, 3, [{ metric: 'cpu' }], 0);
    view.feed(...marker3!);
    expect(view.metricStats('cpu', NOW)!.stats.count).toBe(2);
    view.feed(...entry3!);
    expect(view.metricStats('cpu', NOW)!.stats.count).toBe(3);
  });

  it('lists all-stats in name order, filtered by prefix and paged by cursor, names like __proto__ included', () => {
    const agg = new StreamingAggregator();
    const names = ['b.x', 'a.y', '__proto__', 'a.x', 'constructor', 'a.z', 'c'];
    names.forEach((n, i) => agg.recordMetric(n, undefined, i, T0, T0));
    const view = new LiveStatsView();
    round(agg, 0, 1, [...agg.series()]).forEach(([k, v]) => view.feed(k, v));
    const page1 = view.allStats(NOW, { limit: 3 });
    expect([Object.keys(page1.stats), page1.next]).toEqual([['__proto__', 'a.x', 'a.y'], 'a.y']);
    const page2 = view.allStats(NOW, { limit: 3, after: page1.next });
    expect([Object.keys(page2.stats), page2.next]).toEqual([['a.z', 'b.x', 'c'], 'c']);
    const page3 = view.allStats(NOW, { limit: 3, after: page2.next });
    expect([Object.keys(page3.stats), page3.next]).toEqual([['constructor'], undefined]);
    const a = view.allStats(NOW, { prefix: 'a.', limit: 2 });
    expect([Object.keys(a.stats), a.next]).toEqual([['a.x', 'a.y'], 'a.y']);
    expect(Object.keys(view.allStats(NOW, { prefix: 'a.', after: 'a.y' }).stats)).toEqual(['a.z']);
    expect(view.allStats(NOW).stats['__proto__']).toEqual(agg.allStats(NOW)['__proto__']);
  });

  it('drops a metric once its deletion record is committed', () => {
    const agg = new StreamingAggregator();
    agg.recordMetric('gone', undefined, 1, T0, T0);
    const view = new LiveStatsView();
    round(agg, 0, 1, [{ metric: 'gone' }]).forEach(([k, v]) => view.feed(k, v));
    expect(Object.keys(view.allStats(NOW).stats)).toEqual(['gone']);
    const base = partitionBase('agg', 'events.metrics', 0);
    view.feed(seriesKey(base, 1, { metric: 'gone' }), encodeSeriesEntry({ round: 2n, state: undefined }));
    expect(view.hasMetric('gone')).toBe(true);
    view.feed(markerKey(base), encodeMarker({ round: 2n, nextOffset: 20n, watermarkMs: NOW, producedAtMs: NOW, shared: agg.serializeShared() }));
    expect([view.hasMetric('gone'), Object.keys(view.allStats(NOW).stats)]).toEqual([false, []]);
  });
});

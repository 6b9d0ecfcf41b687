import { EventTimeWatermark } from './EventTimeWatermark';
import { foldEvent } from './foldEvent';
import { AggregateView, decodePartitionSnapshot, encodePartitionSnapshot, snapshotKey } from './PartitionSnapshot';
import { StreamingAggregator } from './StreamingAggregator';

const W = Date.UTC(2026, 10, 27, 12, 0, 0);
const DAY = 86_400_000;

function metric(metric_name: string, value: number): Record<string, unknown> {
  return { metric_name, value };
}

describe('foldEvent', () => {
  // Issue 17: three values on each of 30 metrics, one event on another metric stamped +1 day, one
  // more value on each of the 30. All 30 on one partition (the worst case: one watermark).
  it('keeps every series exact when one event is stamped a day ahead: the future event is counted, not aggregated, and the watermark stays', () => {
    const agg = new StreamingAggregator();
    const watermark = new EventTimeWatermark({ maxFutureSkewMs: 60_000 });
    const names = Array.from({ length: 30 }, (_, i) => `m${i}`);
    let wall = W;
    for (let round = 0; round < 3; round++) {
      for (const name of names) {
        wall += 10;
        expect(foldEvent(agg, 'events.metrics', metric(name, round + 1), wall, watermark, wall)).toBe('ok');
      }
    }
    const before = watermark.ms;
    wall += 10;
    expect(foldEvent(agg, 'events.metrics', metric('x', 1), wall + DAY, watermark, wall)).toBe('future');
    expect(watermark.ms).toBe(before);
    for (const name of names) {
      wall += 10;
      expect(foldEvent(agg, 'events.metrics', metric(name, 4), wall, watermark, wall)).toBe('ok');
    }
    agg.expire(watermark.ms); // what each snapshot round does
    const expected = { count: 4, sum: 10, min: 1, max: 4, late_events: 0, future_events: 0, total_events: 4 };
    const seen = (a: StreamingAggregator, now: number) =>
      names.map((name) => {
        const s = a.metricStats(name, now)!;
        return { count: s.stats.count, sum: s.stats.sum, min: s.stats.min, max: s.stats.max, late_events: s.late_events, future_events: s.future_events, total_events: s.total_events };
      });
    expect(seen(agg, wall)).toEqual(names.map(() => expected));
    const x = agg.metricStats('x', wall)!;
    expect([x.stats.count, x.total_events, x.late_events, x.future_events]).toEqual([0, 1, 0, 1]);
    expect(agg.allStats(wall)['x']!.count).toBe(0);
    expect(agg.rates(wall).topics).toEqual({ 'events.metrics': 120 / 60 }); // the future event is not in the rate either
    expect(agg.topK('metric_name', 100, wall)!.items.some((i) => i.item === 'x')).toBe(false);
    expect([agg.counters().futureEvents, agg.counters().lateEvents]).toEqual([1, 0]);

    // Through the partition snapshot and back (restore, and the gateway's merged view).
    const bytes = encodePartitionSnapshot({ nextOffset: 121n, watermarkMs: watermark.ms, producedAtMs: wall, state: agg.serialize() });
    const snap = decodePartitionSnapshot(snapshotKey('agg', 'events.metrics', 0), bytes);
    expect(snap.watermarkMs).toBe(wall); // the last of the 30 values, not the future event
    const restored = StreamingAggregator.deserialize(snap.state);
    expect(seen(restored, wall)).toEqual(names.map(() => expected));
    expect([restored.metricStats('x', wall)!.future_events, restored.counters().futureEvents]).toEqual([1, 1]);
    const view = new AggregateView();
    view.apply(snapshotKey('agg', 'events.metrics', 0), snap);
    view.apply(snapshotKey('agg', 'events.metrics', 1), { ...snap, partition: 1 });
    expect([view.aggregate()!.metricStats('x', wall)!.future_events, view.aggregate()!.metricStats('m7', wall)!.stats.count]).toEqual([2, 8]);
  });

  it('counts a future event of a topic without metrics globally and folds nothing of it', () => {
    const agg = new StreamingAggregator();
    const watermark = new EventTimeWatermark({ initialMs: W });
    const payload = { service: 'api', error_type: 'Timeout', message: 'm', severity: 'error' };
    expect(foldEvent(agg, 'events.errors', payload, W + DAY, watermark, W)).toBe('future');
    expect([agg.rates(W + DAY).topics, agg.topK('error_type', 10, W), agg.counters().futureEvents, watermark.ms]).toEqual([{}, undefined, 1, W]);
  });
});

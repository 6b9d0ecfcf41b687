import { StreamingAggregator, type SeriesRef } from '@pipeline/aggregation';
import { partitionForKey } from '@pipeline/kafka';
import { seededRandom } from '@pipeline/testing';
import { markerKey, partitionBase, seriesKey, type Slot } from './liveStateKeys';
import { decodeSeriesEntry, encodeMarker, encodeSeriesEntry } from './liveStateRecords';
import { LiveStatsView } from './LiveStatsView';

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
const NOW = T0 + 60_000;

/** The messages one writer round of partition `p` puts on the state topic for `refs` of `agg` (marker last). */
function round(agg: StreamingAggregator, p: number, r: number, refs: SeriesRef[], slot: Slot = 0): Array<[string, Buffer]> {
  const base = partitionBase('agg', 'events.metrics', p);
  return [
    ...refs.map((ref): [string, Buffer] => [seriesKey(base, slot, ref), encodeSeriesEntry({ round: BigInt(r), principal: agg.seriesPrincipal(ref), state: agg.serializeSeries(ref) })]),
    [markerKey(base), encodeMarker({ round: BigInt(r), nextOffset: BigInt(r * 10), watermarkMs: NOW, producedAtMs: NOW, shared: agg.serializeShared() })],
  ];
}

/** A partition's round as `round` writes it, of any input topic, with its own watermark and production time. */
function roundOf(agg: StreamingAggregator, topic: string, p: number, refs: SeriesRef[], marker: { watermarkMs: number; producedAtMs: number }): Array<[string, Buffer]> {
  const base = partitionBase('agg', topic, p);
  return [
    ...refs.map((ref): [string, Buffer] => [seriesKey(base, 0, ref), encodeSeriesEntry({ round: 1n, state: agg.serializeSeries(ref) })]),
    [markerKey(base), encodeMarker({ round: 1n, nextOffset: 10n, ...marker, shared: agg.serializeShared() })],
  ];
}

/** A view answer without its completeness (which a lone aggregator has no markers to state). */
function stripCompleteness<T extends { completeness: unknown }>(answer: T | undefined): Omit<T, 'completeness'> | undefined {
  if (!answer) return undefined;
  const copy: Partial<T> = { ...answer };
  delete copy.completeness;
  return copy as Omit<T, 'completeness'>;
}

const iso = (ms: number) => new Date(ms).toISOString();

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
      expect(stripCompleteness(view.metricStats('m3', NOW))).toEqual(single.metricStats('m3', NOW));
      expect(loads.mock.calls.every(([ref]) => ref.metric === 'm3')).toBe(true);
      expect(loads).toHaveBeenCalledTimes(3 * 5); // per partition: the overall series and 4 groups
      view.metricStats('m3', NOW, 'g1');
      expect(loads).toHaveBeenCalledTimes(15); // cached until one of m3's entries changes
      round(parts[0]!, 0, 2, [{ metric: 'm1' }], 1).forEach(([k, v]) => view.feed(k, v));
      expect(stripCompleteness(view.metricStats('m3', NOW, 'g1'))).toEqual(single.metricStats('m3', NOW, 'g1'));
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
    expect(view.allStats(NOW).stats['__proto__']).toEqual({
      ...agg.allStats(NOW)['__proto__'],
      accuracy: { percentile_relative_error: 0.01 },
      // NOW is 12:01:00.000: the 300 s window is the seconds 11:56:01 to 12:01:00; no partition count was given.
      completeness: {
        window_start: '2026-12-07T11:56:01.000Z', window_end: '2026-12-07T12:01:01.000Z', watermark: iso(NOW), snapshot_age_ms: 0,
        partitions_reported: 1, partitions_total: null, late_events: 0, future_events: 0, late_events_in_window: 0, future_events_in_window: 0,
      },
    });
  });

  it('answers rates as one aggregator fed every partition would, from each metric\'s overall entries only', () => {
    const rand = seededRandom(17);
    for (const coarseBucketSeconds of [1, 5]) {
      const options = { windowSeconds: 120, rateWindowSeconds: 30, coarseBucketSeconds };
      const parts = Array.from({ length: 3 }, () => new StreamingAggregator(options));
      const single = new StreamingAggregator(options);
      let nowMs = T0;
      for (let i = 0; i < 3000; i++) {
        nowMs += Math.floor(rand() * 90);
        const metric = `m${Math.floor(rand() * 12)}`;
        const group = rand() < 0.5 ? undefined : `g${Math.floor(rand() * 3)}`;
        // Mostly recent, some into older blocks, a few stamped up to 20 s ahead of the clock.
        const eventMs = nowMs + Math.floor((rand() < 0.05 ? 20_000 : rand() < 0.2 ? -100_000 : -3_000) * rand());
        const value = rand() * 10;
        parts[Math.floor(rand() * 3)]!.recordMetric(metric, group, value, eventMs, nowMs);
        single.recordMetric(metric, group, value, eventMs, nowMs);
        if (i % 500 === 499) for (const agg of [...parts, single]) agg.expire(nowMs);
      }
      parts[2]!.recordMetric('ahead', undefined, 1, nowMs + 15_000, nowMs);
      single.recordMetric('ahead', undefined, 1, nowMs + 15_000, nowMs);
      const view = new LiveStatsView({ group: 'agg' });
      parts.forEach((agg, p) => round(agg, p, 1, [...agg.series()]).forEach(([k, v]) => view.feed(k, v)));
      const loads = jest.spyOn(StreamingAggregator.prototype, 'loadSeries');
      try {
        // At and after every metric's newest second: from the tables, without loading any series.
        for (const at of [nowMs + 16_000, nowMs + 20_500, nowMs + 45_000, nowMs + 300_000]) {
          expect(view.rates(at)!.metrics).toEqual(single.rates(at).metrics);
        }
        expect(loads).not.toHaveBeenCalled();
        // Before some metrics' newest second (events stamped ahead of the reader): those merge their state.
        for (const at of [nowMs - 2_000, nowMs, nowMs + 9_999]) {
          const rates = view.rates(at)!.metrics;
          expect(rates).toEqual(single.rates(at).metrics);
          // The same numbers as each metric's own answer (today's way: its whole state merged).
          for (const name of Object.keys(rates)) expect(rates[name]).toBe(view.metricStats(name, at)!.stats.rate_per_sec);
        }
        expect(loads).toHaveBeenCalled();
      } finally {
        loads.mockRestore();
      }
      // A later round of one metric replaces its table, and only its table.
      parts[0]!.recordMetric('m1', undefined, 5, nowMs + 1_000, nowMs + 1_000);
      single.recordMetric('m1', undefined, 5, nowMs + 1_000, nowMs + 1_000);
      round(parts[0]!, 0, 2, [{ metric: 'm1' }], 1).forEach(([k, v]) => view.feed(k, v));
      const decodes = jest.spyOn(StreamingAggregator, 'readSeriesWindow');
      try {
        expect(view.rates(nowMs + 20_000)!.metrics).toEqual(single.rates(nowMs + 20_000).metrics);
        expect(decodes.mock.calls.length).toBe(parts.filter((agg) => agg.hasMetric('m1')).length);
      } finally {
        decodes.mockRestore();
      }
    }
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

  it('states each answer\'s accuracy and completeness: the sketch bounds, the window, and the markers of the partitions behind it', () => {
    const options = { relativeAccuracy: 0.02, topKCapacity: 2, windowOverrides: { mem: 60 } };
    const [p0, p1, p2, errors] = [0, 1, 2, 3].map(() => new StreamingAggregator(options)) as [StreamingAggregator, StreamingAggregator, StreamingAggregator, StreamingAggregator];
    p0.recordMetric('cpu', 'a', 1, T0, T0);
    p0.recordMetric('cpu', undefined, 2, T0 - 400_000, T0); // a window old: late
    p0.recordFutureEvent('cpu', T0); // stamped too far ahead (judged by the aggregator's watermark): future
    p1.recordMetric('cpu', undefined, 3, T0, T0);
    p1.recordMetric('mem', undefined, 4, T0, T0);
    p2.recordMetric('disk', undefined, 5, T0, T0);
    for (const x of ['timeout', 'timeout', 'timeout', 'dns', 'tls']) errors.recordDimension('error_type', x, T0, T0); // capacity 2: tls counts 2, over by 1
    // events.metrics has 4 partitions (partition 3 never received anything, so never reported), events.errors 2 (only 0 reported).
    const view = new LiveStatsView({ group: 'agg', inputPartitions: new Map([['events.metrics', 4], ['events.errors', 2]]) });
    const feed = (msgs: Array<[string, Buffer]>) => msgs.forEach(([k, v]) => view.feed(k, v));
    feed(roundOf(p0, 'events.metrics', 0, [...p0.series()], { watermarkMs: T0 + 5_000, producedAtMs: NOW - 2_000 }));
    feed(roundOf(p1, 'events.metrics', 1, [...p1.series()], { watermarkMs: T0 + 3_000, producedAtMs: NOW - 500 }));
    feed(roundOf(p2, 'events.metrics', 2, [...p2.series()], { watermarkMs: T0 + 1_000, producedAtMs: NOW - 9_000 }));
    feed(roundOf(errors, 'events.errors', 0, [], { watermarkMs: T0 + 7_000, producedAtMs: NOW - 4_000 }));

    const at = NOW + 250; // 12:01:00.250: the 300 s window is [11:56:01, 12:01:01)
    const cpu = view.metricStats('cpu', at)!;
    const cpuCompleteness = {
      window_start: '2026-12-07T11:56:01.000Z', window_end: '2026-12-07T12:01:01.000Z',
      watermark: iso(T0 + 3_000), // the lower of p0 and p1, the partitions holding cpu (p2's older one is not behind this answer)
      snapshot_age_ms: 2_250, // p0's snapshot, the older of the two
      partitions_reported: 3, partitions_total: 4, late_events: 1, future_events: 1,
      late_events_in_window: 1, future_events_in_window: 1, // both arrived at 12:00:00, in the window
    };
    expect([cpu.stats.count, cpu.accuracy, cpu.completeness]).toEqual([2, { percentile_relative_error: 0.02 }, cpuCompleteness]);
    expect(view.metricStats('cpu', at, 'a')!.completeness).toEqual(cpuCompleteness);
    expect(view.metricStats('mem', at)!.completeness).toEqual({
      window_start: '2026-12-07T12:00:01.000Z', window_end: '2026-12-07T12:01:01.000Z', // mem's own 60 s window
      watermark: iso(T0 + 3_000), snapshot_age_ms: 750, partitions_reported: 3, partitions_total: 4, late_events: 0, future_events: 0,
      late_events_in_window: 0, future_events_in_window: 0,
    });
    expect(view.allStats(at).stats['cpu']).toEqual({ ...cpu.stats, accuracy: cpu.accuracy, completeness: cpuCompleteness });

    const shared = { watermark: iso(T0 + 1_000), snapshot_age_ms: 9_250, partitions_reported: 4, partitions_total: 6 }; // every reported partition of both topics
    expect(view.topK('error_type', 1, at)).toEqual({
      dimension: 'error_type',
      items: [{ item: 'timeout', count: 3, error: 0 }],
      window_seconds: 300,
      accuracy: { max_overcount: 1 }, // tls (not listed with k = 1) may be over-counted by 1
      completeness: { window_start: '2026-12-07T11:56:01.000Z', window_end: '2026-12-07T12:01:01.000Z', ...shared },
    });
    expect(view.rates(at)!.completeness).toEqual({ window_start: '2026-12-07T12:00:01.000Z', window_end: '2026-12-07T12:01:01.000Z', ...shared });

    // A partition that has seen no event in time has no watermark yet (0): the answer has none either.
    const fresh = new StreamingAggregator(options);
    fresh.recordFutureEvent('ahead', T0);
    feed(roundOf(fresh, 'events.metrics', 3, [...fresh.series()], { watermarkMs: 0, producedAtMs: NOW }));
    expect(view.metricStats('ahead', at)!.completeness).toEqual({
      window_start: '2026-12-07T11:56:01.000Z', window_end: '2026-12-07T12:01:01.000Z',
      watermark: null, snapshot_age_ms: 250, partitions_reported: 4, partitions_total: 4, late_events: 0, future_events: 1,
      late_events_in_window: 0, future_events_in_window: 1,
    });
  });

  // Ingest's view keeps no series states (seriesOnly); the gateway's keeps them: both judge alike.
  describe.each([false, true])('seriesRefusal (the gateway\'s and ingest\'s check before publishing metric events), seriesOnly %s', (seriesOnly) => {
    const metrics = (n: number) => new LiveStatsView({ group: 'agg', inputPartitions: new Map([['events.metrics', n]]), seriesOnly });
    const plan = (...refs: SeriesRef[]) => refs.map((ref) => ({ ref, key: ref.group === undefined ? ref.metric : `${ref.metric}|${ref.group}` }));

    it('refuses a new series on a partition at its cap, naming it and the cap, and always lets a live series through', () => {
      const agg = new StreamingAggregator({ maxSeries: 4 });
      for (const m of ['junk1', 'junk2', 'junk3']) agg.recordMetric(m, undefined, 1, T0, T0);
      agg.recordMetric('real', undefined, 1, T0, T0);
      expect(agg.recordMetric('brand_new', undefined, 1, T0, T0)).toBe('refused'); // what the aggregator itself does
      const view = metrics(1);
      round(agg, 0, 1, [...agg.series()]).forEach(([k, v]) => view.feed(k, v));
      expect(view.seriesRefusal('events.metrics', plan({ metric: 'real' }, { metric: 'brand_new' }))).toEqual({
        kind: 'series_limit', index: 1, ref: { metric: 'brand_new' }, topic: 'events.metrics', partition: 0, cap: 4, live: 4,
      });
      expect(view.seriesRefusal('events.metrics', plan({ metric: 'real' }, { metric: 'junk2' }))).toBe(undefined);
    });

    it('counts the series the list itself adds, two for a group of a metric new to the partition, each once', () => {
      const agg = new StreamingAggregator({ maxSeries: 5 });
      agg.recordMetric('cpu', 'a', 1, T0, T0); // cpu overall + cpu/a: 2 live
      const view = metrics(1);
      round(agg, 0, 1, [...agg.series()]).forEach(([k, v]) => view.feed(k, v));
      // cpu/b (1) + mem/x (2: mem and mem/x) = 5; mem/x again and mem take no more; disk would be the 6th.
      const list = plan({ metric: 'cpu', group: 'b' }, { metric: 'mem', group: 'x' }, { metric: 'mem', group: 'x' }, { metric: 'mem' }, { metric: 'disk' });
      expect(view.seriesRefusal('events.metrics', list)).toEqual({ kind: 'series_limit', index: 4, ref: { metric: 'disk' }, topic: 'events.metrics', partition: 0, cap: 5, live: 2 });
      expect(view.seriesRefusal('events.metrics', list.slice(0, 4))).toBe(undefined);
      // A group of a new metric needs both places: with 4 live, one is left, and it is refused.
      agg.recordMetric('mem', undefined, 1, T0, T0);
      agg.recordMetric('cpu', 'b', 1, T0, T0);
      round(agg, 0, 2, [...agg.series()], 1).forEach(([k, v]) => view.feed(k, v));
      expect(view.seriesRefusal('events.metrics', plan({ metric: 'disk', group: 'x' }))).toEqual({ kind: 'series_limit', index: 0, ref: { metric: 'disk', group: 'x' }, topic: 'events.metrics', partition: 0, cap: 5, live: 4 });
      expect(view.seriesRefusal('events.metrics', plan({ metric: 'mem', group: 'x' }))).toBe(undefined);
    });

    it('judges each series by the partition its key maps to, and makes room again when the aggregator deletes series', () => {
      const names = Array.from({ length: 40 }, (_, i) => `m${i}`);
      const on = (p: number) => names.filter((n) => partitionForKey(n, 2) === p);
      const [full, other] = [new StreamingAggregator({ maxSeries: 2 }), new StreamingAggregator({ maxSeries: 2 })];
      const [a, b, c] = on(0) as [string, string, string];
      full.recordMetric(a, undefined, 1, T0, T0);
      full.recordMetric(b, undefined, 1, T0, T0);
      const view = metrics(2);
      round(full, 0, 1, [...full.series()]).forEach(([k, v]) => view.feed(k, v));
      round(other, 1, 1, []).forEach(([k, v]) => view.feed(k, v));
      expect(view.seriesRefusal('events.metrics', plan({ metric: on(1)[0]! }, { metric: c }))).toEqual({ kind: 'series_limit', index: 1, ref: { metric: c }, topic: 'events.metrics', partition: 0, cap: 2, live: 2 });
      // The aggregator expires a: its deletion record frees a place (seen as soon as the entry arrives).
      const base = partitionBase('agg', 'events.metrics', 0);
      view.feed(seriesKey(base, 1, { metric: a }), encodeSeriesEntry({ round: 2n, state: undefined }));
      expect(view.seriesRefusal('events.metrics', plan({ metric: c }))).toBe(undefined);
      // Its keys deleted later (tombstones) leave the count as it is.
      view.feed(seriesKey(base, 0, { metric: a }), null);
      view.feed(seriesKey(base, 1, { metric: a }), null);
      expect(view.seriesRefusal('events.metrics', plan({ metric: c }, { metric: a }))).toEqual({ kind: 'series_limit', index: 1, ref: { metric: a }, topic: 'events.metrics', partition: 0, cap: 2, live: 1 });
    });

    it('lets a new owner\'s deletion of a cut-short round\'s entry leave the committed entry live', () => {
      const agg = new StreamingAggregator({ maxSeries: 1 });
      agg.recordMetric('cpu', undefined, 1, T0, T0);
      const view = metrics(1);
      round(agg, 0, 1, [{ metric: 'cpu' }], 0).forEach(([k, v]) => view.feed(k, v));
      const base = partitionBase('agg', 'events.metrics', 0);
      view.feed(seriesKey(base, 1, { metric: 'cpu' }), encodeSeriesEntry({ round: 2n, state: undefined })); // round 2 never committed
      expect(view.seriesRefusal('events.metrics', plan({ metric: 'disk' }))).toBe(undefined);
      view.feed(seriesKey(base, 1, { metric: 'cpu' }), null); // the new owner deletes it: cpu is live again
      expect(view.seriesRefusal('events.metrics', plan({ metric: 'disk' }))).toEqual({ kind: 'series_limit', index: 0, ref: { metric: 'disk' }, topic: 'events.metrics', partition: 0, cap: 1, live: 1 });
    });

    it('lets everything through that it cannot judge: no partition count, a view of any group, a partition that has not reported', () => {
      const agg = new StreamingAggregator({ maxSeries: 1 });
      agg.recordMetric('cpu', undefined, 1, T0, T0);
      const msgs = round(agg, 0, 1, [{ metric: 'cpu' }]);
      const views = [new LiveStatsView({ group: 'agg' }), new LiveStatsView({ inputPartitions: new Map([['events.metrics', 1]]) }), metrics(2)];
      for (const view of views) msgs.forEach(([k, v]) => view.feed(k, v));
      const onPartition1 = Array.from({ length: 40 }, (_, i) => `n${i}`).find((n) => partitionForKey(n, 2) === 1)!;
      expect(views.map((view, i) => view.seriesRefusal('events.metrics', plan({ metric: i === 2 ? onPartition1 : 'disk' })))).toEqual([undefined, undefined, undefined]);
      expect(metrics(1).seriesRefusal('events.metrics', plan({ metric: 'disk' }))).toBe(undefined); // nothing reported at all
    });
  });

  describe('seriesRefusal with a series quota (API_KEY_MAX_SERIES)', () => {
    const metrics = (n: number) => new LiveStatsView({ group: 'agg', inputPartitions: new Map([['events.metrics', n]]) });
    const plan = (...refs: SeriesRef[]) => refs.map((ref) => ({ ref, key: ref.group === undefined ? ref.metric : `${ref.metric}|${ref.group}` }));
    const A = 'key:aaaaaaaaaaaa';
    const B = 'key:bbbbbbbbbbbb';

    it('counts the live series each principal created over every partition, and refuses a principal\'s new series past its quota only', () => {
      const names = Array.from({ length: 40 }, (_, i) => `m${i}`);
      const on = (p: number) => names.filter((n) => partitionForKey(n, 2) === p);
      const [p0, p1] = [new StreamingAggregator({ maxSeries: 100 }), new StreamingAggregator({ maxSeries: 100 })];
      p0.recordMetric(on(0)[0]!, undefined, 1, T0, T0, A);
      p0.recordMetric(on(0)[1]!, 'g', 1, T0, T0, A); // two series of A: the metric and its group
      p0.recordMetric(on(0)[1]!, 'h', 1, T0, T0, B); // a group of A's metric, created by B: B's
      p1.recordMetric(on(1)[0]!, undefined, 1, T0, T0, B);
      p1.recordMetric(on(1)[1]!, undefined, 1, T0, T0); // no principal (written to Kafka directly)
      p0.recordMetric(on(0)[0]!, undefined, 2, T0, T0, B); // B writes to A's series: still A's
      const view = metrics(2);
      round(p0, 0, 1, [...p0.series()]).forEach(([k, v]) => view.feed(k, v));
      round(p1, 1, 1, [...p1.series()]).forEach(([k, v]) => view.feed(k, v));
      expect([view.liveSeriesOf(A, 'events.metrics'), view.liveSeriesOf(B, 'events.metrics'), view.liveSeriesOf('key:cccccccccccc', 'events.metrics')]).toEqual([3, 2, 0]);

      const fresh = on(1)[2]!;
      expect(view.seriesRefusal('events.metrics', plan({ metric: on(0)[0]! }, { metric: fresh }), { principal: A, maxSeries: 3 })).toEqual({
        kind: 'series_quota', index: 1, ref: { metric: fresh }, topic: 'events.metrics', partition: 1, principal: A, quota: 3, live: 3,
      });
      // Its own live series and others' (a principal sends to any series) always go through; B has room.
      expect(view.seriesRefusal('events.metrics', plan({ metric: on(0)[0]! }, { metric: on(1)[1]! }, { metric: on(0)[1]!, group: 'h' }), { principal: A, maxSeries: 3 })).toBe(undefined);
      expect(view.seriesRefusal('events.metrics', plan({ metric: fresh }), { principal: B, maxSeries: 3 })).toBe(undefined);
      // The list's own new series count: a group of a new metric takes two.
      expect(view.seriesRefusal('events.metrics', plan({ metric: fresh }, { metric: on(0)[5]!, group: 'x' }), { principal: B, maxSeries: 4 })).toEqual({
        kind: 'series_quota', index: 1, ref: { metric: on(0)[5]!, group: 'x' }, topic: 'events.metrics', partition: partitionForKey(`${on(0)[5]!}|x`, 2), principal: B, quota: 4, live: 2,
      });
      // The cap is judged first.
      expect(view.seriesRefusal('events.metrics', plan({ metric: fresh }), { principal: A, maxSeries: 100 })).toBe(undefined);
    });

    it('frees a principal\'s place when the aggregator deletes one of its series, and reads entries of no principal (version 2) as nobody\'s', () => {
      const agg = new StreamingAggregator({ maxSeries: 10 });
      agg.recordMetric('a1', undefined, 1, T0, T0, A);
      agg.recordMetric('a2', undefined, 1, T0, T0, A);
      const view = metrics(1);
      round(agg, 0, 1, [...agg.series()]).forEach(([k, v]) => view.feed(k, v));
      expect(view.seriesRefusal('events.metrics', plan({ metric: 'a3' }), { principal: A, maxSeries: 2 })).toMatchObject({ kind: 'series_quota', live: 2 });
      const base = partitionBase('agg', 'events.metrics', 0);
      view.feed(seriesKey(base, 1, { metric: 'a1' }), encodeSeriesEntry({ round: 2n, state: undefined }));
      expect(view.seriesRefusal('events.metrics', plan({ metric: 'a3' }), { principal: A, maxSeries: 2 })).toBe(undefined);
      // A version-2 entry (before principals): magic, version 2, round, epoch, kind, state.
      const v3 = encodeSeriesEntry({ round: 3n, principal: A, state: agg.serializeSeries({ metric: 'a2' }) });
      const v2 = Buffer.concat([v3.subarray(0, 2), Buffer.from([2]), v3.subarray(3, 3 + 2 + 1 + 2 + 1), v3.subarray(3 + 2 + 1 + 2 + 1 + 2 + A.length)]);
      expect(decodeSeriesEntry(v2)).toEqual({ round: 3n, epoch: 0n, state: decodeSeriesEntry(v3).state });
      view.feed(seriesKey(base, 0, { metric: 'a2' }), v2);
      expect(view.liveSeriesOf(A, 'events.metrics')).toBe(0);
      expect(view.seriesRefusal('events.metrics', plan({ metric: 'a3' }), { principal: A, maxSeries: 1 })).toBe(undefined);
    });
  });

  it('keeps no series states in a seriesOnly view (ingest\'s): stats reads throw, the cap is still judged', () => {
    const agg = new StreamingAggregator({ maxSeries: 2 });
    agg.recordMetric('cpu', undefined, 1, T0, T0);
    agg.recordMetric('mem', undefined, 1, T0, T0);
    const full = new LiveStatsView({ group: 'agg', inputPartitions: new Map([['events.metrics', 1]]) });
    const slim = new LiveStatsView({ group: 'agg', inputPartitions: new Map([['events.metrics', 1]]), seriesOnly: true });
    const records = round(agg, 0, 1, [...agg.series()]);
    for (const v of [full, slim]) records.forEach(([k, val]) => v.feed(k, val));
    expect(full.metricStats('cpu', NOW)!.stats.count).toBe(1);
    expect(() => slim.metricStats('cpu', NOW)).toThrow('keeps no series states');
    expect(() => slim.rates(NOW)).toThrow('keeps no series states');
    const planned = [{ ref: { metric: 'disk' }, key: 'disk' }];
    expect(slim.seriesRefusal('events.metrics', planned)).toEqual(full.seriesRefusal('events.metrics', planned));
    expect(slim.seriesRefusal('events.metrics', planned)).toMatchObject({ kind: 'series_limit', cap: 2, live: 2 });
  });
});

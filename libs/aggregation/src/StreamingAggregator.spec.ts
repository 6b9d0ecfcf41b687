import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DDSketch } from './DDSketch';
import { DeserializationError, IncompatibleMergeError, InvalidArgumentError } from './errors';
import { StreamingAggregator, type SeriesStats } from './StreamingAggregator';

const T0 = Date.UTC(2026, 10, 27, 0, 0, 0);

/** Rounds every number to 12 significant digits so whole values can be compared despite float noise. */
function round<T>(x: T): T {
  return JSON.parse(JSON.stringify(x, (_k, v) => (typeof v === 'number' ? Number(v.toPrecision(12)) : v)));
}

const EMPTY: SeriesStats = {
  count: 0, sum: 0, mean: null, min: null, max: null, variance: null, stddev: null, p50: null, p90: null, p95: null, p99: null, rate_per_sec: 0,
};

function sketchQuantiles(values: number[]): Pick<SeriesStats, 'p50' | 'p90' | 'p95' | 'p99'> {
  const s = new DDSketch();
  values.forEach((v) => s.add(v));
  const { p50, p90, p95, p99 } = s.result();
  return { p50, p90, p95, p99 };
}

describe('StreamingAggregator', () => {
  it('feeds the (metric, group) series and the overall series, with the old report example', () => {
    const agg = new StreamingAggregator();
    expect(agg.recordMetric('cpu_usage', 'host-a', 75.5, T0, T0)).toBe('ok');
    expect(agg.recordMetric('cpu_usage', 'host-b', 82.3, T0 + 500, T0 + 500)).toBe('ok');
    const overall: SeriesStats = {
      count: 2, sum: 157.8, mean: 78.9, min: 75.5, max: 82.3, variance: 11.56, stddev: 3.4,
      ...sketchQuantiles([75.5, 82.3]), rate_per_sec: 2 / 60,
    };
    const stats = agg.metricStats('cpu_usage', T0 + 1000)!;
    expect(round(stats)).toEqual(round({
      metric_name: 'cpu_usage',
      stats: round(overall),
      groups: {
        'host-a': { count: 1, sum: 75.5, mean: 75.5, min: 75.5, max: 75.5, variance: 0, stddev: 0, p50: 75.5, p90: 75.5, p95: 75.5, p99: 75.5, rate_per_sec: 1 / 60 },
        'host-b': { count: 1, sum: 82.3, mean: 82.3, min: 82.3, max: 82.3, variance: 0, stddev: 0, p50: 82.3, p90: 82.3, p95: 82.3, p99: 82.3, rate_per_sec: 1 / 60 },
      },
      window_seconds: 300,
      total_events: 2,
      late_events: 0,
      future_events: 0,
      timestamp: '2026-11-27T00:00:01.000Z',
      accuracy: { percentile_relative_error: 0.01 },
    }));
    expect(agg.metricStats('cpu_usage', T0 + 1000, 'host-b')!.stats).toEqual(stats.groups['host-b']);
    expect(agg.metricStats('cpu_usage', T0, 'host-z')).toBeUndefined();
    expect(agg.metricStats('nope', T0)).toBeUndefined();
    expect(round(agg.allStats(T0 + 1000))).toEqual({ cpu_usage: round(overall) });
    expect(agg.counters()).toEqual({ activeSeries: 3, lateEvents: 0, refusedEvents: 0, futureEvents: 0, windowExpirations: 0, expiredSeries: 0, totalEvents: 2 });
  });

  it('states its percentile error bound (the configured relative accuracy) and the metric counts without computing stats', () => {
    const agg = new StreamingAggregator({ relativeAccuracy: 0.02, windowOverrides: { fast: 10 } });
    agg.recordMetric('fast', 'g', 1, T0, T0);
    agg.recordMetric('fast', undefined, 2, T0 - 20_000, T0); // a window old: late
    agg.recordFutureEvent('fast', T0);
    expect(agg.metricStats('fast', T0)!.accuracy).toEqual({ percentile_relative_error: 0.02 });
    expect(agg.metricCounts('fast', T0)).toEqual({ window_seconds: 10, total_events: 3, late_events: 1, future_events: 1, late_events_in_window: 1, future_events_in_window: 1 });
    expect(agg.metricCounts('nope', T0)).toBeUndefined();
  });

  it('counts the late and future events that arrived in the window, by the clock when they arrived, beside the counts since the state was created', () => {
    const agg = new StreamingAggregator({ windowSeconds: 60 }); // coarse blocks of 5 s; T0 is a multiple of 5 s
    agg.recordMetric('m', undefined, 1, T0, T0);
    agg.recordMetric('m', undefined, 1, T0 - 61_000, T0); // late, arrived at T0
    agg.recordFutureEvent('m', T0 + 2_000);
    agg.recordMetric('m', undefined, 1, T0 + 30_000 - 61_000, T0 + 30_000); // late, arrived at T0+30 s
    agg.recordFutureEvent('m', T0 + 50_000);
    const counts = (s: number) => {
      const c = agg.metricCounts('m', T0 + s * 1000)!;
      return [c.late_events, c.future_events, c.late_events_in_window, c.future_events_in_window];
    };
    expect(counts(50)).toEqual([2, 2, 2, 2]);
    expect(counts(63)).toEqual([2, 2, 2, 2]); // the window (T0+3, T0+63] still reaches the block [T0, T0+5)
    expect(counts(64)).toEqual([2, 2, 1, 1]);
    expect(counts(94)).toEqual([2, 2, 0, 1]);
    expect(counts(500)).toEqual([2, 2, 0, 0]);
    // The metric's answer says the same through every form of its state.
    const restored = StreamingAggregator.deserialize(agg.serialize());
    const rebuilt = StreamingAggregator.fromShared(agg.serializeShared());
    for (const ref of agg.series()) rebuilt.loadSeries(ref, agg.serializeSeries(ref)!);
    for (const s of [50, 64, 94]) {
      expect(restored.metricCounts('m', T0 + s * 1000)).toEqual(agg.metricCounts('m', T0 + s * 1000));
      expect(rebuilt.metricCounts('m', T0 + s * 1000)).toEqual(agg.metricCounts('m', T0 + s * 1000));
    }
    expect(StreamingAggregator.readSeriesWindow(agg.serializeSeries({ metric: 'm' })!, true).countInLast(60, T0)).toBe(1);
  });

  it('reports an empty window as count 0 and nulls, while total_events keeps counting', () => {
    const agg = new StreamingAggregator({ windowSeconds: 10 });
    agg.recordMetric('latency', undefined, 12, T0, T0);
    const later = agg.metricStats('latency', T0 + 400_000)!;
    expect([later.stats, later.total_events, later.groups]).toEqual([EMPTY, 1, {}]);
  });

  it('answers late for events a window older than now, counting them without folding them in', () => {
    const agg = new StreamingAggregator({ windowSeconds: 60 });
    expect(agg.recordMetric('m', 'g', 1, T0 + 100_000, T0 + 100_000)).toBe('ok');
    expect(agg.recordMetric('m', 'g', 1000, T0 + 40_999, T0 + 100_000)).toBe('late'); // second T0s+40 ≤ 100 - 60
    expect(agg.recordMetric('m', 'g', 2, T0 + 41_000, T0 + 100_000)).toBe('ok');
    const stats = agg.metricStats('m', T0 + 100_000)!;
    expect([stats.stats.count, stats.stats.max, stats.total_events, stats.late_events, agg.counters().lateEvents]).toEqual([2, 2, 3, 1, 1]);
  });

  it('refuses new series past maxSeries (overall + group count) and counts them', () => {
    const agg = new StreamingAggregator({ maxSeries: 3 });
    expect(agg.recordMetric('a', 'g1', 1, T0, T0)).toBe('ok'); // 2 series
    expect(agg.recordMetric('a', 'g2', 1, T0, T0)).toBe('ok'); // 3
    expect(agg.recordMetric('a', 'g3', 1, T0, T0)).toBe('refused');
    expect(agg.recordMetric('b', undefined, 1, T0, T0)).toBe('refused');
    expect(agg.recordMetric('a', 'g1', 5, T0, T0)).toBe('ok'); // existing series still accept
    expect(agg.recordMetric('a', undefined, 5, T0, T0)).toBe('ok');
    expect(agg.counters()).toEqual({ activeSeries: 3, lateEvents: 0, refusedEvents: 2, futureEvents: 0, windowExpirations: 0, expiredSeries: 0, totalEvents: 6 });
    expect(agg.metricStats('a', T0)!.stats.count).toBe(4);
  });

  it('expires idle series after idleExpiryMs and old buckets of live ones', () => {
    const agg = new StreamingAggregator({ windowSeconds: 10, rateWindowSeconds: 10, idleExpiryMs: 20_000 });
    agg.recordMetric('m', 'quiet', 1, T0, T0);
    for (let s = 0; s < 25; s++) agg.recordMetric('m', 'busy', s, T0 + s * 1000, T0 + s * 1000);
    agg.recordEvent('orders', T0, T0);
    agg.expire(T0 + 19_999);
    expect(agg.counters().activeSeries).toBe(3);
    agg.expire(T0 + 20_000); // quiet: last event at T0
    expect(Object.keys(agg.metricStats('m', T0 + 24_000)!.groups)).toEqual(['busy']);
    expect(agg.rates(T0 + 20_000).topics).toEqual({});
    // Buckets out of the 10 s window: seconds 0..14 of busy and of the overall series (pushed out by
    // newer events), plus quiet's second 0 at the first expire (T0 + 19,999 ms).
    expect(agg.counters()).toEqual({ activeSeries: 2, lateEvents: 0, refusedEvents: 0, futureEvents: 0, windowExpirations: 31, expiredSeries: 1, totalEvents: 27 });
    agg.expire(T0 + 24_000 + 20_000);
    expect(agg.counters().activeSeries).toBe(0);
    expect(agg.counters().expiredSeries).toBe(3);
    expect(agg.metricStats('m', T0)).toBeUndefined();
  });

  it('uses per-metric window overrides', () => {
    const agg = new StreamingAggregator({ windowSeconds: 300, windowOverrides: { fast: 10 } });
    agg.recordMetric('fast', undefined, 1, T0, T0);
    agg.recordMetric('slow', undefined, 1, T0, T0);
    expect(agg.metricStats('fast', T0 + 10_000)!.stats.count).toBe(0);
    expect(agg.metricStats('fast', T0)!.window_seconds).toBe(10);
    expect(agg.metricStats('slow', T0 + 10_000)!.stats.count).toBe(1);
    expect(agg.recordMetric('fast', undefined, 1, T0, T0 + 10_000)).toBe('late');
  });

  it('computes percentiles over the sketch sub-windows overlapping the window', () => {
    const agg = new StreamingAggregator({ windowSeconds: 300 });
    const values: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const v = Math.exp((i % 97) / 10);
      values.push(v);
      agg.recordMetric('latency_ms', 'svc', v, T0 + i * 100, T0 + i * 100);
    }
    const stats = agg.metricStats('latency_ms', T0 + 299_999)!.stats;
    expect({ p50: stats.p50, p90: stats.p90, p95: stats.p95, p99: stats.p99 }).toEqual(sketchQuantiles(values));
    expect(stats.rate_per_sec).toBe(10);
  });

  it('tracks topic rates and metric rates over rateWindowSeconds', () => {
    const agg = new StreamingAggregator({ rateWindowSeconds: 10 });
    for (let i = 0; i < 100; i++) {
      agg.recordEvent('clicks', T0 + i * 100, T0 + i * 100);
      agg.recordMetric('m', undefined, i, T0 + i * 200, T0 + i * 200);
    }
    expect(agg.rates(T0 + 9_999)).toEqual({ topics: { clicks: 100 / 10 }, metrics: { m: 50 / 10 }, window_seconds: 10 });
    expect(agg.rates(T0 + 19_999)).toEqual({ topics: { clicks: 0 }, metrics: { m: 50 / 10 }, window_seconds: 10 });
  });

  it('keeps top-K per dimension with error bounds', () => {
    const agg = new StreamingAggregator({ topKCapacity: 2 });
    for (const x of ['timeout', 'timeout', 'timeout', 'dns', 'tls']) agg.recordDimension('error_type', x, T0, T0);
    agg.recordDimension('action', 'click', T0, T0, 5);
    expect(agg.topK('error_type', 5, T0)).toEqual({
      dimension: 'error_type',
      items: [
        { item: 'timeout', count: 3, error: 0 },
        { item: 'tls', count: 2, error: 1 },
      ],
      window_seconds: 300,
      accuracy: { max_overcount: 1 },
    });
    expect(agg.topK('nope', 1, T0)).toBeUndefined();
    expect(agg.dimensions()).toEqual(['action', 'error_type']);
  });

  it('lists top-K items of the stats window only: those of 25 minutes ago are gone, late ones are refused', () => {
    const agg = new StreamingAggregator({ windowSeconds: 300 });
    for (let i = 0; i < 50; i++) agg.recordDimension('error_type', 'OldTimeout', T0 + i * 1000, T0 + i * 1000);
    expect(agg.topK('error_type', 10, T0 + 49_000)!.items).toEqual([{ item: 'OldTimeout', count: 50, error: 0 }]);
    const now = T0 + 25 * 60_000;
    for (let i = 0; i < 3; i++) agg.recordDimension('error_type', 'Refused', now - i * 60_000, now);
    agg.recordDimension('error_type', 'Reset', now - 200_000, now);
    expect(agg.recordDimension('error_type', 'Ancient', now - 300_000, now)).toBe(false); // a window old: late
    const expected = { dimension: 'error_type', items: [{ item: 'Refused', count: 3, error: 0 }, { item: 'Reset', count: 1, error: 0 }], window_seconds: 300, accuracy: { max_overcount: 0 } };
    expect(agg.topK('error_type', 10, now)).toEqual(expected);
    agg.expire(now);
    expect(StreamingAggregator.deserialize(agg.serialize()).topK('error_type', 10, now)).toEqual(expected);
    expect(agg.topK('error_type', 10, now + 330_000)).toEqual({ dimension: 'error_type', items: [], window_seconds: 300, accuracy: { max_overcount: 0 } });
  });

  it('treats names that are JavaScript object internals as names like any other: metrics, groups, topics, overrides and top-K items', () => {
    const NAMES = ['constructor', 'toString', '__proto__', 'valueOf', 'hasOwnProperty'];
    const agg = new StreamingAggregator({ windowOverrides: new Map([['constructor', 60]]), rateWindowSeconds: 10 });
    NAMES.forEach((name, i) => {
      for (let v = 1; v <= 3; v++) expect(agg.recordMetric(name, '__proto__', v * (i + 1), T0, T0)).toBe('ok');
      agg.recordMetric(name, 'toString', 100, T0, T0);
      agg.recordEvent(name, T0, T0);
      agg.recordDimension(name, '__proto__', T0, T0);
      agg.recordDimension('metric_name', name, T0, T0);
    });
    const check = (a: StreamingAggregator) => {
      NAMES.forEach((name, i) => {
        const s = a.metricStats(name, T0)!;
        expect([name, s.metric_name, s.stats.count, s.stats.sum, Object.keys(s.groups), s.groups['__proto__']!.sum, s.window_seconds]).toEqual([
          name, name, 4, 6 * (i + 1) + 100, ['__proto__', 'toString'], 6 * (i + 1), name === 'constructor' ? 60 : 300,
        ]);
        expect(a.metricStats(name, T0, '__proto__')!.stats.count).toBe(3);
        expect(a.topK(name, 5, T0)!.items).toEqual([{ item: '__proto__', count: 1, error: 0 }]);
      });
      const all = a.allStats(T0);
      const rates = a.rates(T0);
      expect([Object.keys(all).sort(), Object.keys(rates.metrics).sort(), Object.keys(rates.topics).sort()]).toEqual([[...NAMES].sort(), [...NAMES].sort(), [...NAMES].sort()]);
      expect(JSON.parse(JSON.stringify(all))['__proto__'].count).toBe(4);
      expect(JSON.stringify(a.metricStats('valueOf', T0)!.groups)).toContain('"__proto__":{"count":3');
      expect(JSON.stringify(rates)).toContain('"__proto__":0.4');
      expect(a.topK('metric_name', 10, T0)!.items.map((x) => x.item)).toEqual([...NAMES].sort());
    };
    check(agg);
    check(StreamingAggregator.deserialize(agg.serialize()));
    expect(agg.metricStats('isPrototypeOf', T0)).toBeUndefined();
    expect(agg.metricStats('constructor', T0, 'valueOf')).toBeUndefined();
    expect([agg.hasMetric('constructor'), agg.hasMetric('isPrototypeOf')]).toEqual([true, false]);
    expect(agg.topK('propertyIsEnumerable', 1, T0)).toBeUndefined();
  });

  describe('window tiers', () => {
    const T = Date.UTC(2026, 10, 27, 0, 0, 0);
    /** The data of the version-1 fixture: 2 metrics × 3 groups, one value per second for 150 s. */
    const feed = (agg: StreamingAggregator) => {
      let i = 0;
      for (let s = 0; s < 150; s++) {
        for (const m of ['latency_ms', 'bytes']) {
          for (const g of ['a', 'b', 'c']) {
            agg.recordMetric(m, g, ((i * 7919) % 1000) / 10 - 20, T + s * 1000 + (i % 997), T + s * 1000 + 999);
            i++;
          }
        }
      }
      return agg;
    };
    const round = (x: unknown) => JSON.parse(JSON.stringify(x, (_k, v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(10)) : v)));

    it('reads a version-1 snapshot (1 s buckets, before tiers) into the same state as the data fed today', () => {
      // Written by the release before window tiers from the data of `feed` (windowSeconds 120, rate window 30).
      const v1 = Buffer.from(readFileSync(join(__dirname, '__fixtures__/streaming-aggregator-v1.b64'), 'utf8'), 'base64');
      expect(v1[2]).toBe(1);
      const restored = StreamingAggregator.deserialize(v1);
      const fresh = feed(new StreamingAggregator({ windowSeconds: 120, rateWindowSeconds: 30 }));
      const now = T + 149_999;
      expect(restored.coarseBucketSeconds).toBe(5);
      expect(round(restored.metricStats('latency_ms', now))).toEqual(round(fresh.metricStats('latency_ms', now)));
      expect(round(restored.allStats(now))).toEqual(round(fresh.allStats(now)));
      expect(restored.metricStats('bytes', now)!.groups['a']!.count).toBe(120); // this window's far end falls on a block edge
      // 3 s later the window (T+32, T+152] starts inside the block [T+30, T+35): the block counts whole.
      const later = T + 152_999;
      expect(restored.metricStats('bytes', later)!.groups['a']!.count).toBe(120);
      expect(fresh.metricStats('bytes', later)!.groups['a']!.count).toBe(120);
      expect(restored.serialize()[2]).toBe(6);
    });

    it('reads a version-4 snapshot (before series principals) as series of no principal, with the same stats', () => {
      // Written by the release before principals: cpu, cpu/host-a and mem/host-b fed one value a second for 20 s.
      const v4 = Buffer.from(readFileSync(join(__dirname, '__fixtures__/streaming-aggregator-v4.b64'), 'utf8'), 'base64');
      expect(v4[2]).toBe(4);
      const restored = StreamingAggregator.deserialize(v4);
      const fresh = new StreamingAggregator({ windowSeconds: 120, rateWindowSeconds: 30 });
      for (let s = 0; s < 20; s++) {
        fresh.recordMetric('cpu', undefined, s, T + s * 1000, T + s * 1000 + 999, 'key:aaaaaaaaaaaa');
        fresh.recordMetric('cpu', 'host-a', s * 2, T + s * 1000, T + s * 1000 + 999, 'key:aaaaaaaaaaaa');
        fresh.recordMetric('mem', 'host-b', s * 3, T + s * 1000, T + s * 1000 + 999, 'key:aaaaaaaaaaaa');
      }
      const now = T + 19_999;
      expect(round(restored.allStats(now))).toEqual(round(fresh.allStats(now)));
      expect(round(restored.metricStats('mem', now))).toEqual(round(fresh.metricStats('mem', now)));
      expect([...restored.series()].map((ref) => restored.seriesPrincipal(ref))).toEqual([undefined, undefined, undefined, undefined]);
      expect([...fresh.series()].map((ref) => fresh.seriesPrincipal(ref))).toEqual(Array(4).fill('key:aaaaaaaaaaaa'));
    });

    it('reads a version-5 snapshot and a version-1 series state (before arrival tallies): the counts since creation, none in any window', () => {
      // Written by the release before arrival tallies: cpu/host-a fed one value a second for 20 s
      // (window 120 s); late events on cpu arrived at T+150 s and T+290 s, future ones at T+160 s and T+295 s.
      const v5 = Buffer.from(readFileSync(join(__dirname, '__fixtures__/streaming-aggregator-v5.b64'), 'utf8'), 'base64');
      const series = Buffer.from(readFileSync(join(__dirname, '__fixtures__/streaming-aggregator-series-v1.b64'), 'utf8'), 'base64');
      expect([v5[2], series[0]]).toEqual([5, 1]);
      const restored = StreamingAggregator.deserialize(v5);
      const rebuilt = StreamingAggregator.fromShared(restored.serializeShared());
      rebuilt.loadSeries({ metric: 'cpu' }, series);
      const now = T + 296_000;
      const expected = { window_seconds: 120, total_events: 24, late_events: 2, future_events: 2, late_events_in_window: 0, future_events_in_window: 0 };
      expect([restored.metricCounts('cpu', now), rebuilt.metricCounts('cpu', now)]).toEqual([expected, expected]);
      expect(StreamingAggregator.readSeriesWindow(series, true).countInLast(120, T + 19_999)).toBe(20);
      // Written again, they carry tallies from the next late event on.
      const next = StreamingAggregator.deserialize(restored.serialize());
      next.recordFutureEvent('cpu', now);
      expect(next.metricCounts('cpu', now)).toMatchObject({ future_events: 3, future_events_in_window: 1, late_events_in_window: 0 });
    });

    it('reads a version-2 snapshot (before late/future counts per metric) with zero counts and the same stats', () => {
      // Written by the release before per-metric late/future counts from the data of `feed`, one
      // 'action' item per second, and one late event on latency_ms (windowSeconds 120, rate window 30).
      const v2 = Buffer.from(readFileSync(join(__dirname, '__fixtures__/streaming-aggregator-v2.b64'), 'utf8'), 'base64');
      expect(v2[2]).toBe(2);
      const restored = StreamingAggregator.deserialize(v2);
      const fresh = feed(new StreamingAggregator({ windowSeconds: 120, rateWindowSeconds: 30 }));
      const now = T + 149_999;
      expect(round(restored.allStats(now))).toEqual(round(fresh.allStats(now)));
      expect(round(restored.metricStats('bytes', now))).toEqual(round(fresh.metricStats('bytes', now)));
      const latency = restored.metricStats('latency_ms', now)!;
      expect([latency.total_events, latency.late_events, latency.future_events]).toEqual([451, 0, 0]); // the late one predates the per-metric count
      expect([restored.counters().lateEvents, restored.counters().futureEvents]).toEqual([1, 0]);
      expect(StreamingAggregator.deserialize(restored.serialize()).metricStats('latency_ms', now)).toEqual(latency);
      expect(restored.dimensions()).toEqual([]); // all-time top-K counts (versions 1–3) cannot be placed in a window: dropped
    });

    it('keeps 1 s buckets everywhere with coarseBucketSeconds 1: the window is exactly 120 s', () => {
      const flat = feed(new StreamingAggregator({ windowSeconds: 120, rateWindowSeconds: 30, coarseBucketSeconds: 1 }));
      expect(flat.metricStats('bytes', T + 149_999)!.groups['a']!.count).toBe(120);
      expect(flat.metricStats('bytes', T + 152_999)!.groups['a']!.count).toBe(117); // (T+32, T+152] holds T+33..T+149
      const copy = StreamingAggregator.deserialize(flat.serialize());
      expect(copy.coarseBucketSeconds).toBe(1);
      expect(round(copy.allStats(T + 149_999))).toEqual(round(flat.allStats(T + 149_999)));
    });
  });

  describe('series principals (who created a series)', () => {
    const A = 'key:aaaaaaaaaaaa';
    const B = 'key:bbbbbbbbbbbb';
    const fed = () => {
      const agg = new StreamingAggregator({ maxSeries: 100 });
      agg.recordMetric('cpu', 'host-a', 1, T0, T0, A); // creates cpu and cpu/host-a: A's
      agg.recordMetric('cpu', 'host-b', 2, T0, T0, B); // cpu is live: only cpu/host-b is B's
      agg.recordMetric('cpu', 'host-a', 3, T0, T0, B); // writing to A's series leaves it A's
      agg.recordMetric('mem', undefined, 4, T0, T0); // no principal
      agg.recordFutureEvent('disk', T0, B); // the future event's empty overall series: B's
      return agg;
    };
    const principals = (agg: StreamingAggregator) => [...agg.series()].map((ref) => [ref.metric, ref.group, agg.seriesPrincipal(ref)]);
    const expected = [
      ['cpu', undefined, A],
      ['cpu', 'host-a', A],
      ['cpu', 'host-b', B],
      ['mem', undefined, undefined],
      ['disk', undefined, B],
    ];

    it('records the principal of the event that creates a series, and keeps it through later events of others', () => {
      expect(principals(fed())).toEqual(expected);
      expect(fed().seriesPrincipal({ metric: 'nope' })).toBe(undefined);
    });

    it('keeps principals through serialize/deserialize, and through serializeSeries/loadSeries with the principal given beside the bytes', () => {
      const agg = fed();
      expect(principals(StreamingAggregator.deserialize(agg.serialize()))).toEqual(expected);
      const rebuilt = StreamingAggregator.fromShared(agg.serializeShared());
      for (const ref of agg.series()) rebuilt.loadSeries(ref, agg.serializeSeries(ref)!, agg.seriesPrincipal(ref));
      expect(principals(rebuilt)).toEqual(expected);
    });

    it('merges: a series keeps its own principal, takes the other\'s when it has none, and a new one comes with the other\'s', () => {
      const into = new StreamingAggregator({ maxSeries: 100 });
      into.recordMetric('cpu', 'host-a', 1, T0, T0, B); // cpu and cpu/host-a: B's here
      into.recordMetric('mem', undefined, 1, T0, T0); // nobody's here and in `fed`
      into.recordMetric('disk', undefined, 1, T0, T0); // nobody's here, B's in `fed`
      const other = fed();
      const before = other.serialize();
      into.merge(other);
      expect(other.serialize()).toEqual(before);
      expect(principals(into)).toEqual([
        ['cpu', undefined, B],
        ['cpu', 'host-a', B],
        ['cpu', 'host-b', B],
        ['mem', undefined, undefined],
        ['disk', undefined, B],
      ]);
    });
  });

  describe('merge and serialization', () => {
    function feed(agg: StreamingAggregator, from: number, to: number): void {
      for (let i = from; i < to; i++) {
        const t = T0 + i * 37;
        agg.recordMetric(`metric-${i % 3}`, i % 5 === 0 ? undefined : `g${i % 4}`, ((i * 7919) % 1000) - 300, t, t);
        agg.recordEvent(`topic-${i % 2}`, t, t);
        agg.recordDimension('action', `a${(i * i) % 13}`, t, t);
        if (i % 500 === 7) agg.recordFutureEvent(`metric-${i % 3}`, t);
        if (i % 700 === 3) agg.recordFutureEvent(undefined, t);
      }
    }
    const NOW = T0 + 6000 * 37;

    it('merging partitions equals one aggregator fed everything, and leaves the argument unchanged', () => {
      const single = new StreamingAggregator();
      feed(single, 0, 6000);
      const parts = [new StreamingAggregator(), new StreamingAggregator(), new StreamingAggregator()];
      feed(parts[0], 0, 2500);
      feed(parts[1], 2500, 6000);
      const merged = new StreamingAggregator();
      const before = parts[1].serialize();
      parts.forEach((p) => merged.merge(p));
      expect(parts[1].serialize()).toEqual(before);
      for (const m of ['metric-0', 'metric-1', 'metric-2']) {
        expect(round(merged.metricStats(m, NOW))).toEqual(round(single.metricStats(m, NOW)));
        expect(merged.metricCounts(m, NOW)).toEqual(single.metricCounts(m, NOW));
      }
      expect(merged.rates(NOW)).toEqual(single.rates(NOW));
      expect(merged.topK('action', 20, NOW)).toEqual(single.topK('action', 20, NOW));
      expect(merged.counters()).toEqual(single.counters());
      expect([0, 1, 2].map((m) => merged.metricStats(`metric-${m}`, NOW)!.future_events)).toEqual([4, 4, 4]);
      expect(merged.counters().futureEvents).toBe(12 + 9);
    });

    it('round-trips through serialize/deserialize to an equal aggregator', () => {
      const agg = new StreamingAggregator({ windowOverrides: { 'metric-1': 120 }, topKCapacity: 7 });
      feed(agg, 0, 6000);
      agg.expire(NOW);
      const bytes = agg.serialize();
      const copy = StreamingAggregator.deserialize(bytes);
      expect(copy.allStats(NOW)).toEqual(agg.allStats(NOW));
      expect(copy.metricStats('metric-1', NOW)).toEqual(agg.metricStats('metric-1', NOW));
      expect(copy.rates(NOW)).toEqual(agg.rates(NOW));
      expect(copy.topK('action', 7, NOW)).toEqual(agg.topK('action', 7, NOW));
      expect(copy.counters()).toEqual(agg.counters());
      expect(copy.serialize()).toEqual(bytes);
    });

    it('rebuilds an equal aggregator from its shared part and each series alone, loaded in any order', () => {
      const agg = new StreamingAggregator({ windowOverrides: { 'metric-1': 120 }, topKCapacity: 7 });
      feed(agg, 0, 6000);
      agg.expire(NOW);
      const inOrder = StreamingAggregator.fromShared(agg.serializeShared());
      expect(inOrder.allStats(NOW)).toEqual({});
      for (const ref of agg.series()) inOrder.loadSeries(ref, agg.serializeSeries(ref)!);
      expect(Buffer.from(inOrder.serialize()).equals(Buffer.from(agg.serialize()))).toBe(true);
      const copy = StreamingAggregator.fromShared(agg.serializeShared());
      for (const ref of [...agg.series()].reverse()) copy.loadSeries(ref, agg.serializeSeries(ref)!); // groups before their overall series
      for (const m of ['metric-0', 'metric-1', 'metric-2']) expect(copy.metricStats(m, NOW)).toEqual(agg.metricStats(m, NOW));
      expect(copy.rates(NOW)).toEqual(agg.rates(NOW));
      expect(copy.topK('action', 7, NOW)).toEqual(agg.topK('action', 7, NOW));
      expect(copy.counters()).toEqual(agg.counters());
      expect(copy.takeChanges()).toEqual({ changed: [], removed: [] });
      expect(agg.serializeSeries({ metric: 'metric-0', group: 'no-such-group' })).toBe(undefined);
      expect(agg.serializeSeries({ metric: 'no-such-metric' })).toBe(undefined);
    });

    it('reports the series an event touched, and the ones idle expiry removed, once', () => {
      const agg = new StreamingAggregator({ windowSeconds: 10, rateWindowSeconds: 10, idleExpiryMs: 20_000 });
      agg.recordMetric('cpu', 'a', 1, T0, T0);
      agg.recordMetric('cpu', undefined, 2, T0, T0);
      agg.recordMetric('mem', 'b', 3, T0, T0);
      expect(agg.takeChanges()).toEqual({ changed: [{ metric: 'cpu' }, { metric: 'cpu', group: 'a' }, { metric: 'mem' }, { metric: 'mem', group: 'b' }], removed: [] });
      expect(agg.takeChanges()).toEqual({ changed: [], removed: [] });
      agg.recordMetric('cpu', 'a', 1, T0 - 60_000, T0 + 10_000); // late: only the metric's counts move
      agg.recordFutureEvent('disk', T0 + 10_000); // a new metric with an empty window
      agg.recordEvent('events.metrics', T0, T0); // topic rates live in the shared part
      expect(agg.takeChanges()).toEqual({ changed: [{ metric: 'cpu' }, { metric: 'disk' }], removed: [] });
      agg.recordMetric('mem', 'c', 4, T0 + 15_000, T0 + 15_000);
      agg.expire(T0 + 21_000); // cpu and group mem/b idle for 21 s
      expect(agg.takeChanges()).toEqual({
        changed: [{ metric: 'mem' }, { metric: 'mem', group: 'c' }],
        removed: [{ metric: 'mem', group: 'b' }, { metric: 'cpu' }, { metric: 'cpu', group: 'a' }],
      });
      agg.markAllChanged();
      expect(agg.takeChanges()).toEqual({ changed: [{ metric: 'mem' }, { metric: 'mem', group: 'c' }, { metric: 'disk' }], removed: [] });
    });

    it('costs well under 100 bytes per idle series in a snapshot', () => {
      const agg = new StreamingAggregator({ windowSeconds: 10, rateWindowSeconds: 10 });
      for (let i = 0; i < 1000; i++) agg.recordMetric('requests', `group-${i}`, i, T0, T0);
      agg.expire(T0 + 60_000);
      expect(agg.serialize().length / 1001).toBeLessThan(40);
    });

    it('rejects snapshots that are not aggregator snapshots and mismatched windows', () => {
      expect(() => StreamingAggregator.deserialize(Uint8Array.of(1, 2, 3))).toThrow(
        new DeserializationError('StreamingAggregator snapshot must start with "SA", got 0x102'),
      );
      const a = new StreamingAggregator({ windowSeconds: 60 });
      const b = new StreamingAggregator({ windowSeconds: 120 });
      a.recordMetric('m', undefined, 1, T0, T0);
      b.recordMetric('m', undefined, 1, T0, T0);
      expect(() => a.merge(b)).toThrow(new IncompatibleMergeError('cannot merge a SlidingWindow of 120 s (60 s of 1 s buckets, then 5 s blocks) into one of 60 s'));
    });
  });

  it('rejects bad values and options with the field name', () => {
    const agg = new StreamingAggregator();
    expect(() => agg.recordMetric('m', undefined, Number.NaN, T0, T0)).toThrow(new InvalidArgumentError('value must be a finite number, got NaN'));
    expect(() => new StreamingAggregator({ windowOverrides: { m: 0 } })).toThrow(
      new InvalidArgumentError('windowOverrides.m must be a positive integer, got 0'),
    );
  });
});

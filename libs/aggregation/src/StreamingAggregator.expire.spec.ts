import { seededRandom } from '@pipeline/testing';
import { DueQueue } from './DueQueue';
import { StreamingAggregator, type SeriesRef } from './StreamingAggregator';
import type { SlidingWindow } from './SlidingWindow';
import type { WindowedQuantiles } from './WindowedQuantiles';
import type { WindowedTopK } from './WindowedTopK';

/** The aggregator's internals a full sweep needs (read with element access: TypeScript allows it for private members). */
interface SweepSeries {
  window: SlidingWindow;
  quantiles: WindowedQuantiles;
  lastSeenMs: number;
}
interface SweepInternals {
  metrics: Map<string, { overall: SweepSeries; groups: Map<string, SweepSeries> }>;
  topics: Map<string, { lastSeenMs: number }>;
  dims: Map<string, WindowedTopK>;
  activeSeries: number;
  windowExpirations: number;
  expiredSeries: number;
  pendingDropped: number;
  touch(metric: string, group: string | undefined, what: 'changed' | 'removed'): void;
}

/**
 * The reference: `expire` as it was before the expiry queue, a sweep over every series of every
 * metric (groups first, then the overall series), word for word apart from reading the record-time
 * bucket tally (`pendingDropped`) where the windows used to hold it.
 */
function sweepExpire(agg: StreamingAggregator, nowMs: number): void {
  const a = agg as unknown as SweepInternals;
  a.windowExpirations += a.pendingDropped;
  a.pendingDropped = 0;
  const expireSeries = (series: SweepSeries): void => {
    series.window.expire(nowMs);
    a.windowExpirations += series.window.takeDroppedBuckets();
    series.quantiles.expire(nowMs);
  };
  for (const [name, state] of a.metrics) {
    for (const [group, series] of state.groups) {
      if (nowMs - series.lastSeenMs >= agg.idleExpiryMs) {
        a.windowExpirations += series.window.takeDroppedBuckets();
        state.groups.delete(group);
        a.activeSeries--;
        a.expiredSeries++;
        a.touch(name, group, 'removed');
      } else {
        expireSeries(series);
      }
    }
    if (nowMs - state.overall.lastSeenMs >= agg.idleExpiryMs) {
      a.windowExpirations += state.overall.window.takeDroppedBuckets();
      for (const series of state.groups.values()) a.windowExpirations += series.window.takeDroppedBuckets();
      a.metrics.delete(name);
      a.activeSeries -= 1 + state.groups.size;
      a.expiredSeries += 1 + state.groups.size;
      for (const group of state.groups.keys()) a.touch(name, group, 'removed');
      a.touch(name, undefined, 'removed');
    } else {
      expireSeries(state.overall);
    }
  }
  for (const [topic, state] of a.topics) {
    if (nowMs - state.lastSeenMs >= agg.idleExpiryMs) a.topics.delete(topic);
  }
  for (const topK of a.dims.values()) topK.expire(nowMs);
}

const OPTIONS = {
  windowSeconds: 20,
  windowOverrides: new Map([['m1', 7]]),
  rateWindowSeconds: 5,
  coarseBucketSeconds: 3,
  percentileSubWindows: 4,
  idleExpiryMs: 30_000,
  maxSeries: 40,
};
const METRICS = ['m0', 'm1', 'm2', 'constructor', '__proto__'];
const GROUPS = [undefined, 'g0', 'g1', 'g2', 'toString'];

const sortRefs = (refs: SeriesRef[]): string[] => refs.map((r) => JSON.stringify([r.metric, r.group ?? null])).sort();

/** Everything either aggregator answers at `nowMs`, for comparison. */
function observe(agg: StreamingAggregator, nowMs: number): unknown {
  const changes = agg.takeChanges();
  const series = [...agg.series()];
  return {
    bytes: Buffer.from(agg.serialize()).toString('base64'),
    shared: Buffer.from(agg.serializeShared()).toString('base64'),
    counters: agg.counters(),
    stats: METRICS.map((m) => agg.metricStats(m, nowMs) ?? null),
    all: agg.allStats(nowMs),
    rates: agg.rates(nowMs),
    series: series.map((ref) => [ref, Buffer.from(agg.serializeSeries(ref)!).toString('base64')]),
    changed: sortRefs(changes.changed),
    removed: sortRefs(changes.removed),
  };
}

describe('StreamingAggregator.expire (expiry queue)', () => {
  it('leaves every answer, snapshot, merge and counter exactly as a sweep over every series does, on random streams', () => {
    let expiredBuckets = 0;
    let expiredSeries = 0;
    for (let seed = 1; seed <= 16; seed++) {
      const rand = seededRandom(seed);
      const queued = new StreamingAggregator(OPTIONS);
      const swept = new StreamingAggregator(OPTIONS);
      let nowMs = Date.UTC(2026, 11, 7) + Math.floor(rand() * 1000);
      for (let op = 0; op < 600; op++) {
        const r = rand();
        if (r < 0.62) {
          const metric = METRICS[Math.floor(rand() * METRICS.length)]!;
          const group = GROUPS[Math.floor(rand() * GROUPS.length)];
          const value = Math.round((rand() - 0.3) * 1000) / 10;
          // Mostly recent, some older than the window (late, or into old blocks), a few ahead of now.
          const eventMs = nowMs + Math.floor((rand() < 0.1 ? -30_000 : rand() < 0.1 ? 4_000 : -4_000) * rand());
          expect(queued.recordMetric(metric, group, value, eventMs, nowMs)).toBe(swept.recordMetric(metric, group, value, eventMs, nowMs));
        } else if (r < 0.66) {
          const topic = rand() < 0.5 ? 'metrics' : 'logs';
          queued.recordEvent(topic, nowMs - 500, nowMs);
          swept.recordEvent(topic, nowMs - 500, nowMs);
        } else if (r < 0.68) {
          const metric = METRICS[Math.floor(rand() * METRICS.length)];
          queued.recordFutureEvent(metric, nowMs);
          swept.recordFutureEvent(metric, nowMs);
        } else if (r < 0.7) {
          const item = `u${Math.floor(rand() * 5)}`;
          queued.recordDimension('user', item, nowMs, nowMs);
          swept.recordDimension('user', item, nowMs, nowMs);
        } else if (r < 0.86) {
          // Clock steps: mostly small, sometimes past windows and idle expiry, rarely backwards.
          const step = rand() < 0.08 ? 15_000 + rand() * 30_000 : rand() < 0.05 ? -3_000 : rand() * 2_500;
          nowMs = Math.floor(nowMs + step);
        } else if (r < 0.97) {
          queued.expire(nowMs);
          sweepExpire(swept, nowMs);
        } else if (r < 0.985) {
          // Another replica's state merged into both (older or newer data than theirs).
          const other = new StreamingAggregator(OPTIONS);
          for (let i = 0; i < 5; i++) {
            const at = nowMs + Math.floor((rand() - 0.6) * 25_000);
            other.recordMetric(METRICS[Math.floor(rand() * 3)]!, GROUPS[Math.floor(rand() * GROUPS.length)], rand() * 10, at, Math.max(at, nowMs - 10_000));
          }
          queued.merge(other);
          swept.merge(other);
        } else {
          // A series state loaded over (or beside) an existing one, as a restore does.
          const refs = [...swept.series()];
          const ref = refs[Math.floor(rand() * refs.length)];
          const bytes = ref && swept.serializeSeries(ref);
          if (ref && bytes) {
            const target = { metric: ref.metric === 'm0' ? 'm2' : ref.metric, ...(ref.group !== undefined && { group: ref.group }) };
            queued.loadSeries(target, bytes);
            swept.loadSeries(target, bytes);
          }
        }
        if (op % 40 === 39) {
          expect(observe(queued, nowMs)).toEqual(observe(swept, nowMs));
          const mergedQueued = queued.emptyLike();
          mergedQueued.merge(queued);
          const mergedSwept = swept.emptyLike();
          mergedSwept.merge(swept);
          expect(Buffer.from(mergedQueued.serialize())).toEqual(Buffer.from(mergedSwept.serialize()));
        }
      }
      queued.expire(nowMs);
      sweepExpire(swept, nowMs);
      expect(observe(queued, nowMs)).toEqual(observe(swept, nowMs));
      // A restored copy expires like the original.
      const restored = StreamingAggregator.deserialize(queued.serialize());
      const restoredSwept = StreamingAggregator.deserialize(swept.serialize());
      restored.expire(nowMs + 40_000);
      sweepExpire(restoredSwept, nowMs + 40_000);
      expect(observe(restored, nowMs + 40_000)).toEqual(observe(restoredSwept, nowMs + 40_000));
      expiredBuckets += queued.counters().windowExpirations;
      expiredSeries += queued.counters().expiredSeries;
    }
    // The streams did exercise expiry (buckets leaving windows, idle series dropped).
    expect(expiredBuckets).toBeGreaterThan(1000);
    expect(expiredSeries).toBeGreaterThan(100);
  });

  it('drops old buckets when they leave the window and an idle metric with its groups when it is due, not before', () => {
    const agg = new StreamingAggregator({ windowSeconds: 10, rateWindowSeconds: 10, idleExpiryMs: 20_000 });
    const t0 = Date.UTC(2026, 11, 7);
    agg.recordMetric('cpu', 'a', 1, t0, t0);
    agg.recordMetric('cpu', 'b', 2, t0 + 5_000, t0 + 5_000);
    agg.takeChanges();
    // At 14.999 s the window holds seconds 5–14: second 0 leaves the overall series and group a.
    agg.expire(t0 + 14_999);
    expect(agg.counters()).toMatchObject({ activeSeries: 3, windowExpirations: 2, expiredSeries: 0 });
    expect(agg.metricStats('cpu', t0 + 14_999)?.stats.count).toBe(1);
    // Idle for 20 s: group a (last event at 0 s) at 20 s, the metric with group b (5 s) at 25 s.
    agg.expire(t0 + 19_999); // second 5 has left the overall series and group b too
    expect(agg.counters()).toMatchObject({ activeSeries: 3, windowExpirations: 4, expiredSeries: 0 });
    agg.expire(t0 + 24_999);
    expect(agg.counters()).toMatchObject({ activeSeries: 2, expiredSeries: 1 });
    agg.expire(t0 + 25_000);
    expect(agg.counters()).toMatchObject({ activeSeries: 0, windowExpirations: 4, expiredSeries: 3 });
    expect(agg.takeChanges()).toEqual({ changed: [], removed: [{ metric: 'cpu' }, { metric: 'cpu', group: 'a' }, { metric: 'cpu', group: 'b' }] });
  });
});

describe('DueQueue', () => {
  it('gives entries back in due order, ties and duplicates included', () => {
    const rand = seededRandom(7);
    const q = new DueQueue<number>();
    const pushed: number[] = [];
    for (let i = 0; i < 500; i++) {
      const due = Math.floor(rand() * 100);
      q.push(due, i);
      pushed.push(due);
    }
    const popped: number[] = [];
    while (q.size > 0) {
      popped.push(q.nextDue());
      q.pop();
    }
    expect(popped).toEqual([...pushed].sort((a, b) => a - b));
    expect(q.nextDue()).toBe(Infinity);
    expect(q.pop()).toBeUndefined();
  });
});

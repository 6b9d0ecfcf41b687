import { ArrivalTallies } from './ArrivalTallies';
import { ByteReader } from './ByteReader';
import { ByteWriter } from './ByteWriter';
import { DueQueue } from './DueQueue';
import { DeserializationError, InvalidArgumentError } from './errors';
import { RateCounter } from './RateCounter';
import { SlidingWindow } from './SlidingWindow';
import { SpaceSaving, type TopKItem } from './SpaceSaving';
import { WindowedQuantiles } from './WindowedQuantiles';
import { WindowedTopK } from './WindowedTopK';

export interface StreamingAggregatorOptions {
  /** Default statistics window per metric, seconds. Default 300. */
  windowSeconds?: number;
  /** Per-metric window in seconds, overriding `windowSeconds` (e.g. `new Map([['cpu_usage', 60]])` or `{ cpu_usage: 60 }`: own keys only). */
  windowOverrides?: ReadonlyMap<string, number> | Readonly<Record<string, number>>;
  /** Window of `rate_per_sec` and `rates()`, seconds. Default 60. */
  rateWindowSeconds?: number;
  /** Most live series (overall + per-group, all metrics); past it new series are refused. Default 10,000. */
  maxSeries?: number;
  /** A series (or topic) with no accepted event for this long is dropped by `expire`. Default 2 × max(window, rate window), in ms. */
  idleExpiryMs?: number;
  /** DDSketch relative accuracy of percentiles. Default 0.01. */
  relativeAccuracy?: number;
  /** Items monitored per top-K dimension and sub-window (Space-Saving capacity). Default 100. */
  topKCapacity?: number;
  /**
   * Percentile sketch and top-K sub-windows per window. Default 10 (30 s for 300 s): percentiles and
   * top-K cover the window plus up to one sub-window. Fewer sub-windows use less memory (5: ~35 MB
   * less per 10,000 busy series) for coarser percentile and top-K windows.
   */
  percentileSubWindows?: number;
  /**
   * Window statistics keep 1 s buckets for the newest `rateWindowSeconds` and merge older seconds into
   * blocks of this many seconds (aligned in epoch time), so the far end of a window moves in these
   * steps (see SlidingWindow, "Tiers"). Default 5: a busy 300 s series holds ~4.4 KB of buckets
   * instead of 12 KB. 1 keeps 1 s buckets everywhere.
   */
  coarseBucketSeconds?: number;
}

/**
 * Statistics of one series over its window. An empty window reports `count: 0, sum: 0,
 * rate_per_sec: 0` and `null` for mean, min, max, variance, stddev and the percentiles.
 * `variance` is the population variance; percentiles are lower rank-based quantiles within the
 * relative accuracy; `rate_per_sec` is events per second over `rateWindowSeconds`.
 */
export interface SeriesStats {
  count: number;
  sum: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  variance: number | null;
  stddev: number | null;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  rate_per_sec: number;
}

/**
 * Answers keyed by metric, group and topic names (`groups`, `allStats`, `rates`) are objects without a
 * prototype: a name such as `constructor`, `toString` or `__proto__` is an own key like any other
 * (and `JSON.stringify` writes it), never an inherited property.
 */
export interface MetricStatsResult {
  metric_name: string;
  stats: SeriesStats;
  groups: Record<string, SeriesStats>;
  window_seconds: number;
  /** Events recorded for the metric since its state was created (ok + late + future). */
  total_events: number;
  /** Of those, events older than the window when they arrived (counted, not in any window). */
  late_events: number;
  /** Of those, events stamped too far ahead of the wall clock (see `recordFutureEvent`; counted, not in any window). */
  future_events: number;
  /** ISO-8601 of `nowMs`. */
  timestamp: string;
  accuracy: StatsAccuracy;
}

/** The error bound of a stats answer's percentiles. */
export interface StatsAccuracy {
  /**
   * The DDSketch relative accuracy α (the aggregator's `relativeAccuracy`, e.g. 0.01): each of
   * p50–p99 is within α·|exact| of the exact lower rank-based quantile of the values it covers.
   * count, sum, mean, min, max, variance and stddev are exact.
   */
  percentile_relative_error: number;
}

/** The error bound of a top-K answer. */
export interface TopKAccuracy {
  /**
   * The largest Space-Saving `error` among the items the window's merged summary monitors: every
   * listed `count` is at most this much above the item's true count in the window (0: all exact).
   */
  max_overcount: number;
}

/** A metric's window and counters, without its series' statistics. */
export interface MetricCounts {
  window_seconds: number;
  total_events: number;
  late_events: number;
  future_events: number;
  /** Of `late_events`, those that arrived in the window at the asked time (by the aggregator's clock, widened to whole coarse blocks). */
  late_events_in_window: number;
  /** Of `future_events`, those that arrived in the window at the asked time (as `late_events_in_window`). */
  future_events_in_window: number;
}

export type RecordOutcome = 'ok' | 'late' | 'refused' | 'future';

/** One series of an aggregator: a metric's overall series (`group` undefined) or one of its groups. */
export interface SeriesRef {
  metric: string;
  group?: string;
}

/** Series changed (folded into, counts moved) and series removed (idle expiry) since the last `takeChanges`. */
export interface SeriesChanges {
  changed: SeriesRef[];
  removed: SeriesRef[];
}

/** Per metric: whether its overall series changed or was removed, and the same per group. */
interface MetricChange {
  overall: 'changed' | 'removed' | undefined;
  groups: Map<string, 'changed' | 'removed'>;
}

/** The heaviest items of a dimension over the window (`window_seconds`, the default stats window, widened to whole sub-windows). */
export interface TopKResult {
  dimension: string;
  items: TopKItem[];
  window_seconds: number;
  accuracy: TopKAccuracy;
}

export interface RatesResult {
  topics: Record<string, number>;
  metrics: Record<string, number>;
  window_seconds: number;
}

export interface AggregatorCounters {
  /** Live series: one overall series per metric plus one per (metric, group). */
  activeSeries: number;
  /** `recordMetric` calls answered 'late'. */
  lateEvents: number;
  /** `recordMetric` calls answered 'refused' (series cap). */
  refusedEvents: number;
  /** `recordFutureEvent` calls: events of any topic stamped too far ahead of the wall clock. */
  futureEvents: number;
  /** 1 s buckets that left their window (pushed out by newer events or by `expire`), tallied at each `expire`. */
  windowExpirations: number;
  /** Series dropped by `expire` for being idle. */
  expiredSeries: number;
  /** Every `recordMetric`, `recordEvent` and `recordFutureEvent` call. */
  totalEvents: number;
}

class Series {
  /** The time of this series' live entry in the expiry queue (epoch ms; never later than its true `dueMs`). */
  queuedDueMs = Infinity;
  /** Set when the series leaves its aggregator (idle, replaced): its queue entries are skipped. */
  gone = false;

  constructor(
    readonly window: SlidingWindow,
    readonly quantiles: WindowedQuantiles,
    /** The `nowMs` of the last accepted event (whole ms), for idle expiry. */
    public lastSeenMs: number,
    /** The series' metric and group (undefined: the overall series), for `expire`. */
    public metric = '',
    public group: string | undefined = undefined,
    /** Who created the series (the principal of its first event, e.g. `key:1a2b3c4d5e6f`); undefined: unknown. */
    public principal: string | undefined = undefined,
  ) {}
}

interface MetricState {
  windowSeconds: number;
  overall: Series;
  groups: Map<string, Series>;
  totalEvents: number;
  lateEvents: number;
  futureEvents: number;
  /** Late and future events by arrival, for the counts in a window (undefined until the first). */
  arrivals: ArrivalTallies | undefined;
}

interface TopicState {
  counter: RateCounter;
  lastSeenMs: number;
}

const MAGIC = 0x5341; // "SA"
const SERIAL_VERSION = 6;
/** Version of a `serializeSeries` state (1: before the arrival tallies of late and future events). */
const SERIES_VERSION = 2;

/**
 * Real-time aggregation of many metric series, topic rates and top-K dimensions; pure and
 * replica-mergeable. Feed it with `recordMetric` / `recordEvent` / `recordDimension`, call `expire`
 * periodically, query with `metricStats` / `allStats` / `rates` / `topK`, and ship `serialize()`
 * snapshots between replicas (`merge`).
 *
 * Each metric has an overall series (all groups) and one series per group. A series holds a
 * `SlidingWindow` (retained for max(window, rate window) so rates come from the same buckets: 1 s
 * buckets for the newest `rateWindowSeconds`, older seconds merged into `coarseBucketSeconds` blocks)
 * and a `WindowedQuantiles` (DDSketch per window/10 sub-window). So: count/sum/mean/min/max/variance
 * are exact over what the window covers, which is the window widened at its far end to whole 5 s
 * blocks (300–304 s of data for 300 s); `rate_per_sec` has 1 s precision; percentiles window/10
 * precision (300–329 s of data for 300 s). Top-K dimensions keep a Space-Saving summary per
 * percentile sub-window of the default window (`WindowedTopK`), so they cover the same 300–329 s.
 *
 * Memory per busy series (every second of a 300 s window non-empty): ~4.4 KB of window buckets
 * (60 × 1 s + 48 blocks, 40 bytes each; 12 KB with `coarseBucketSeconds: 1`) plus the sketches
 * (~256 bytes of sparse bins for 30 values, up to a few KB when dense; 11 at most) plus the JS
 * objects. BENCHMARKS.md has the measured RSS for 10,000 such series. An idle series is emptied by
 * `expire` and dropped after `idleExpiryMs`; the series cap bounds the total.
 *
 * Time: every method takes the caller's clock (`nowMs`, epoch ms); nothing reads the system clock.
 * Events are placed by `eventTimeMs`; an event whose second is at least a window older than `nowMs`
 * is 'late' (counted, not folded in). An event stamped slightly ahead of `nowMs` is accepted and
 * appears once `nowMs` reaches its second; one stamped too far ahead of the wall clock must not
 * reach `recordMetric` at all (it would push older buckets out of its series): the caller judges it
 * with an `EventTimeWatermark` and counts it with `recordFutureEvent` instead (`foldEvent` does both).
 */
export class StreamingAggregator {
  readonly windowSeconds: number;
  readonly windowOverrides: ReadonlyMap<string, number>;
  readonly rateWindowSeconds: number;
  readonly maxSeries: number;
  readonly idleExpiryMs: number;
  readonly relativeAccuracy: number;
  readonly topKCapacity: number;
  readonly percentileSubWindows: number;
  readonly coarseBucketSeconds: number;
  private readonly metrics = new Map<string, MetricState>();
  private readonly topics = new Map<string, TopicState>();
  private readonly dims = new Map<string, WindowedTopK>();
  private activeSeries = 0;
  private lateEvents = 0;
  private refusedEvents = 0;
  private futureEvents = 0;
  private windowExpirations = 0;
  private expiredSeries = 0;
  private totalEvents = 0;
  /** Series touched since the last `takeChanges` (what a per-series snapshot round must write). */
  private readonly changes = new Map<string, MetricChange>();
  /**
   * Every live series by the earliest time `expire` may have something to do to it (see `dueMs`):
   * `expire` visits only the series due, not all of them.
   */
  private readonly expiryQueue = new DueQueue<Series>();
  /** Buckets dropped by records and merges since the last `expire` (tallied into `windowExpirations` there). */
  private pendingDropped = 0;

  constructor(options: StreamingAggregatorOptions = {}) {
    this.windowSeconds = positiveInteger('windowSeconds', options.windowSeconds ?? 300);
    const given = options.windowOverrides ?? new Map<string, number>();
    const overrides = new Map<string, number>();
    for (const [metric, seconds] of given instanceof Map ? given : Object.entries(given)) {
      overrides.set(metric, positiveInteger(`windowOverrides.${metric}`, seconds));
    }
    this.windowOverrides = overrides;
    this.rateWindowSeconds = positiveInteger('rateWindowSeconds', options.rateWindowSeconds ?? 60);
    this.maxSeries = positiveInteger('maxSeries', options.maxSeries ?? 10_000);
    const longest = Math.max(this.windowSeconds, this.rateWindowSeconds, ...overrides.values());
    this.idleExpiryMs = positiveInteger('idleExpiryMs', options.idleExpiryMs ?? 2 * longest * 1000);
    this.relativeAccuracy = options.relativeAccuracy ?? 0.01;
    if (!(this.relativeAccuracy > 0 && this.relativeAccuracy < 1)) {
      throw new InvalidArgumentError(`relativeAccuracy must be a number between 0 and 1 (exclusive), got ${String(this.relativeAccuracy)}`);
    }
    this.topKCapacity = positiveInteger('topKCapacity', options.topKCapacity ?? 100);
    this.percentileSubWindows = positiveInteger('percentileSubWindows', options.percentileSubWindows ?? 10);
    this.coarseBucketSeconds = positiveInteger('coarseBucketSeconds', options.coarseBucketSeconds ?? 5);
  }

  /**
   * Folds `value` into the (metric, group) series and the metric's overall series.
   * 'late': the event's second is ≤ nowSec − window (counted in `lateEvents` and the metric's
   * `total_events`, not in any window). 'refused': the series does not exist and creating it (and
   * the metric's overall series, for a new metric) would pass `maxSeries`. `principal`: who sent the
   * event (e.g. an API key's `key:1a2b3c4d5e6f`), recorded as the principal of each series this event
   * creates (`seriesPrincipal`); a series keeps the principal of the event that created it.
   */
  recordMetric(metricName: string, group: string | undefined, value: number, eventTimeMs: number, nowMs: number, principal?: string): RecordOutcome {
    if (!Number.isFinite(value)) throw new InvalidArgumentError(`value must be a finite number, got ${String(value)}`);
    if (!Number.isFinite(eventTimeMs)) throw new InvalidArgumentError(`eventTimeMs must be a finite number of epoch milliseconds, got ${String(eventTimeMs)}`);
    if (!Number.isFinite(nowMs)) throw new InvalidArgumentError(`nowMs must be a finite number of epoch milliseconds, got ${String(nowMs)}`);
    this.totalEvents++;
    let state = this.metrics.get(metricName);
    const windowSeconds = state?.windowSeconds ?? this.windowOverrides.get(metricName) ?? this.windowSeconds;
    if (Math.floor(eventTimeMs / 1000) <= Math.floor(nowMs / 1000) - windowSeconds) {
      this.lateEvents++;
      if (state !== undefined) {
        state.totalEvents++;
        state.lateEvents++;
        this.tally(state, 'late', nowMs);
        this.touch(metricName, undefined, 'changed');
      }
      return 'late';
    }
    let series: Series | undefined;
    if (state === undefined) {
      if (this.activeSeries + (group === undefined ? 1 : 2) > this.maxSeries) {
        this.refusedEvents++;
        return 'refused';
      }
      state = this.newMetric(metricName, windowSeconds, nowMs, principal);
      this.metrics.set(metricName, state);
    }
    if (group !== undefined) {
      series = state.groups.get(group);
      if (series === undefined) {
        if (this.activeSeries + 1 > this.maxSeries) {
          this.refusedEvents++;
          return 'refused';
        }
        series = this.newSeries(metricName, group, windowSeconds, nowMs, principal);
        state.groups.set(group, series);
        this.activeSeries++;
      }
    }
    state.totalEvents++;
    this.touch(metricName, undefined, 'changed');
    const overall = state.overall;
    if (!overall.window.record(value, eventTimeMs)) {
      // Only possible after future-dated events pushed the newest bucket ahead of nowMs.
      this.lateEvents++;
      state.lateEvents++;
      this.tally(state, 'late', nowMs);
      return 'late';
    }
    overall.quantiles.record(value, eventTimeMs);
    this.pendingDropped += overall.window.takeDroppedBuckets();
    if (nowMs > overall.lastSeenMs) overall.lastSeenMs = Math.floor(nowMs);
    // A value can bring a series' expiry forward only when it lands more than a window before it.
    const dueCheckMs = (Math.floor(eventTimeMs / 1000) + windowSeconds) * 1000;
    if (dueCheckMs < overall.queuedDueMs) this.schedule(overall);
    if (series !== undefined) {
      this.touch(metricName, group, 'changed');
      series.window.record(value, eventTimeMs);
      series.quantiles.record(value, eventTimeMs);
      this.pendingDropped += series.window.takeDroppedBuckets();
      if (nowMs > series.lastSeenMs) series.lastSeenMs = Math.floor(nowMs);
      if (dueCheckMs < series.queuedDueMs) this.schedule(series);
    }
    return 'ok';
  }

  /**
   * Counts an event (of any topic) stamped too far ahead of the wall clock, as judged by the caller's
   * `EventTimeWatermark`, without folding it into any window, rate or top-K: in `futureEvents` and,
   * for a metric event (`metricName` given), in the metric's `future_events` and `total_events`. A
   * metric with no state yet gets its (empty) overall series, so that the count shows in
   * `metricStats`, unless that would pass `maxSeries` (then only `futureEvents` counts it); that
   * series gets `principal` as `recordMetric` gives it.
   */
  recordFutureEvent(metricName: string | undefined, nowMs: number, principal?: string): 'future' {
    if (!Number.isFinite(nowMs)) throw new InvalidArgumentError(`nowMs must be a finite number of epoch milliseconds, got ${String(nowMs)}`);
    this.totalEvents++;
    this.futureEvents++;
    if (metricName === undefined) return 'future';
    let state = this.metrics.get(metricName);
    if (state === undefined) {
      if (this.activeSeries + 1 > this.maxSeries) return 'future';
      state = this.newMetric(metricName, this.windowOverrides.get(metricName) ?? this.windowSeconds, nowMs, principal);
      this.metrics.set(metricName, state);
    }
    state.totalEvents++;
    state.futureEvents++;
    this.tally(state, 'future', nowMs);
    this.touch(metricName, undefined, 'changed');
    return 'future';
  }

  /** Counts one event of `topic` at `eventTimeMs` for `rates()`. */
  recordEvent(topic: string, eventTimeMs: number, nowMs: number): void {
    if (!Number.isFinite(nowMs)) throw new InvalidArgumentError(`nowMs must be a finite number of epoch milliseconds, got ${String(nowMs)}`);
    this.totalEvents++;
    let state = this.topics.get(topic);
    if (state === undefined) {
      state = { counter: new RateCounter({ windowSeconds: this.rateWindowSeconds }), lastSeenMs: Math.floor(nowMs) };
      this.topics.set(topic, state);
    }
    state.counter.record(eventTimeMs);
    if (nowMs > state.lastSeenMs) state.lastSeenMs = Math.floor(nowMs);
  }

  /**
   * Adds `weight` (positive integer, default 1) to `item` at `eventTimeMs` in the windowed top-K of
   * `dimension`. Returns false (recording nothing) for an event whose second is at least the window
   * older than `nowMs`, as `recordMetric` answers 'late'.
   */
  recordDimension(dimension: string, item: string, eventTimeMs: number, nowMs: number, weight = 1): boolean {
    if (!Number.isFinite(nowMs)) throw new InvalidArgumentError(`nowMs must be a finite number of epoch milliseconds, got ${String(nowMs)}`);
    if (Math.floor(eventTimeMs / 1000) <= Math.floor(nowMs / 1000) - this.windowSeconds) return false;
    let topK = this.dims.get(dimension);
    if (topK === undefined) {
      topK = this.newTopK();
      this.dims.set(dimension, topK);
    }
    return topK.record(item, eventTimeMs, weight);
  }

  /**
   * Drops series and topics idle for `idleExpiryMs` (by the `nowMs` of their last accepted event),
   * and the buckets and sketch sub-windows of live series and the top-K sub-windows that have left
   * their window (a dimension stays known, answering an empty list).
   *
   * Cost: the series with something to drop at `nowMs`, not every series. Each live series waits in
   * a queue by the earliest time this can do anything to it (its oldest bucket or sub-window leaving,
   * or its idle expiry: `dueMs`), so a call visits only the series due; the rest are exactly what a
   * visit would leave them. (A busy 300 s series is due every 5 s, when its oldest block leaves.)
   */
  expire(nowMs: number): void {
    this.windowExpirations += this.pendingDropped;
    this.pendingDropped = 0;
    const queue = this.expiryQueue;
    let later: Series[] | undefined;
    while (queue.nextDue() <= nowMs) {
      const due = queue.nextDue();
      const series = queue.pop()!;
      if (series.gone || series.queuedDueMs !== due) continue; // dropped, or queued again since
      series.queuedDueMs = Infinity;
      const state = this.metrics.get(series.metric)!;
      if (series.group === undefined) {
        if (nowMs - series.lastSeenMs >= this.idleExpiryMs) {
          this.dropMetric(series.metric, state, nowMs);
          continue;
        }
      } else if (nowMs - series.lastSeenMs >= this.idleExpiryMs) {
        this.windowExpirations += series.window.takeDroppedBuckets();
        series.gone = true;
        state.groups.delete(series.group);
        this.activeSeries--;
        this.expiredSeries++;
        this.touch(series.metric, series.group, 'removed');
        continue;
      }
      this.expireSeries(series, nowMs);
      // Due again after nowMs (what was due has gone); queued after the loop all the same.
      (later ??= []).push(series);
    }
    if (later !== undefined) for (const series of later) if (!series.gone) this.schedule(series);
    for (const [topic, state] of this.topics) {
      if (nowMs - state.lastSeenMs >= this.idleExpiryMs) this.topics.delete(topic);
    }
    for (const topK of this.dims.values()) topK.expire(nowMs);
  }

  /**
   * Drops an idle metric with its groups, as a sweep over every series at `nowMs` would: each group
   * that is idle itself is dropped as it is, the others first lose what has left their window.
   */
  private dropMetric(name: string, state: MetricState, nowMs: number): void {
    for (const [group, series] of state.groups) {
      if (nowMs - series.lastSeenMs >= this.idleExpiryMs) this.windowExpirations += series.window.takeDroppedBuckets();
      else this.expireSeries(series, nowMs);
      series.gone = true;
      this.touch(name, group, 'removed');
    }
    this.windowExpirations += state.overall.window.takeDroppedBuckets();
    state.overall.gone = true;
    this.metrics.delete(name);
    this.activeSeries -= 1 + state.groups.size;
    this.expiredSeries += 1 + state.groups.size;
    this.touch(name, undefined, 'removed');
  }

  /** The earliest `nowMs` at which `expire` can change `series`: idle expiry, or its oldest bucket or sub-window leaving. */
  private dueMs(series: Series): number {
    const seconds = Math.min(series.window.expiresAtSecond, series.quantiles.expiresAtSecond);
    return Math.min(series.lastSeenMs + this.idleExpiryMs, seconds * 1000);
  }

  /** Queues `series` at its due time when that is earlier than its queued entry (a later entry is stale, skipped when reached). */
  private schedule(series: Series): void {
    const due = this.dueMs(series);
    if (due < series.queuedDueMs) {
      series.queuedDueMs = due;
      this.expiryQueue.push(due, series);
    }
  }

  /**
   * Adds another replica's or partition's state (unchanged): same-second buckets, sketch
   * sub-windows, topic slots and top-K summaries are merged exactly; counters are summed. The series
   * cap is not applied to merged series. A series keeps its principal, or takes the other's when it has none. Options stay this aggregator's; windows must agree.
   */
  merge(other: StreamingAggregator): void {
    for (const [name, theirs] of other.metrics) {
      let state = this.metrics.get(name);
      if (state === undefined) {
        state = this.newMetric(name, theirs.windowSeconds, theirs.overall.lastSeenMs, theirs.overall.principal);
        this.metrics.set(name, state);
      }
      state.overall.principal ??= theirs.overall.principal;
      this.mergeInto(state.overall, theirs.overall);
      for (const [group, series] of theirs.groups) {
        let mine = state.groups.get(group);
        if (mine === undefined) {
          mine = this.newSeries(name, group, state.windowSeconds, series.lastSeenMs, series.principal);
          state.groups.set(group, mine);
          this.activeSeries++;
        }
        mine.principal ??= series.principal;
        this.mergeInto(mine, series);
      }
      state.totalEvents += theirs.totalEvents;
      state.lateEvents += theirs.lateEvents;
      state.futureEvents += theirs.futureEvents;
      if (theirs.arrivals !== undefined) (state.arrivals ??= new ArrivalTallies(this.coarseBucketSeconds)).merge(theirs.arrivals);
    }
    for (const [topic, theirs] of other.topics) {
      let state = this.topics.get(topic);
      if (state === undefined) {
        state = { counter: new RateCounter({ windowSeconds: this.rateWindowSeconds }), lastSeenMs: theirs.lastSeenMs };
        this.topics.set(topic, state);
      }
      state.counter.merge(theirs.counter);
      state.lastSeenMs = Math.max(state.lastSeenMs, theirs.lastSeenMs);
    }
    for (const [dimension, theirs] of other.dims) {
      let topK = this.dims.get(dimension);
      if (topK === undefined) {
        topK = this.newTopK();
        this.dims.set(dimension, topK);
      }
      topK.merge(theirs);
    }
    this.lateEvents += other.lateEvents;
    this.refusedEvents += other.refusedEvents;
    this.futureEvents += other.futureEvents;
    this.windowExpirations += other.windowExpirations;
    this.expiredSeries += other.expiredSeries;
    this.totalEvents += other.totalEvents;
  }

  /**
   * Compact binary snapshot: options, counters, then per metric its name, total, late and future
   * counts, and series (name, principal — empty when unknown, since version 5 —, last-seen ms, 1 s
   * buckets, sketch sub-windows); topics; top-K summaries per sub-window. An idle series (empty window) costs its name plus ~10 bytes; a live one adds 10–40
   * bytes per non-empty second and ~1 byte per sketch bin.
   */
  serialize(): Uint8Array {
    return this.write(true);
  }

  /**
   * `serialize()` without the metrics: options, counters, topic rates and top-K summaries, the part
   * of a partition's state that does not grow with its series. With `serializeSeries` of every
   * series it holds the whole state (`fromShared` + `loadSeries` rebuild it).
   */
  serializeShared(): Uint8Array {
    return this.write(false);
  }

  private write(withMetrics: boolean): Uint8Array {
    const w = new ByteWriter(withMetrics ? 4096 : 1024);
    w.u8(MAGIC >> 8);
    w.u8(MAGIC & 0xff);
    w.u8(SERIAL_VERSION);
    w.varUint(this.windowSeconds);
    w.varUint(this.rateWindowSeconds);
    w.varUint(this.maxSeries);
    w.varUint(this.idleExpiryMs);
    w.f64(this.relativeAccuracy);
    w.varUint(this.topKCapacity);
    w.varUint(this.percentileSubWindows);
    w.varUint(this.coarseBucketSeconds);
    w.varUint(this.windowOverrides.size);
    for (const [metric, seconds] of this.windowOverrides) {
      w.string(metric);
      w.varUint(seconds);
    }
    w.varUint(this.lateEvents);
    w.varUint(this.refusedEvents);
    w.varUint(this.windowExpirations);
    w.varUint(this.expiredSeries);
    w.varUint(this.totalEvents);
    w.varUint(this.futureEvents);
    w.varUint(withMetrics ? this.metrics.size : 0);
    if (withMetrics) {
      for (const [name, state] of this.metrics) {
        w.string(name);
        w.varUint(state.windowSeconds);
        w.varUint(state.totalEvents);
        w.varUint(state.lateEvents);
        w.varUint(state.futureEvents);
        writeArrivals(w, state.arrivals);
        w.string(state.overall.principal ?? '');
        writeSeries(w, state.overall);
        w.varUint(state.groups.size);
        for (const [group, series] of state.groups) {
          w.string(group);
          w.string(series.principal ?? '');
          writeSeries(w, series);
        }
      }
    }
    w.varUint(this.topics.size);
    for (const [topic, state] of this.topics) {
      w.string(topic);
      w.varInt(state.lastSeenMs);
      state.counter.writeTo(w);
    }
    w.varUint(this.dims.size);
    for (const [dimension, topK] of this.dims) {
      w.string(dimension);
      topK.writeTo(w);
    }
    return w.finish();
  }

  /** A `serializeShared()` state: no series yet (`loadSeries` adds them). Same as `deserialize`. */
  static fromShared(bytes: Uint8Array): StreamingAggregator {
    return StreamingAggregator.deserialize(bytes);
  }

  /** An empty aggregator with this one's options (windows, accuracy, capacities). */
  emptyLike(): StreamingAggregator {
    return new StreamingAggregator({
      windowSeconds: this.windowSeconds,
      windowOverrides: this.windowOverrides,
      rateWindowSeconds: this.rateWindowSeconds,
      maxSeries: this.maxSeries,
      idleExpiryMs: this.idleExpiryMs,
      relativeAccuracy: this.relativeAccuracy,
      topKCapacity: this.topKCapacity,
      percentileSubWindows: this.percentileSubWindows,
      coarseBucketSeconds: this.coarseBucketSeconds,
    });
  }

  /**
   * The series changed and removed since the last call (or since this aggregator was created or
   * deserialized), and forgets them: what a snapshot round that writes only changed series must
   * write. A series that changes after its removal is reported changed. Changed: an event was
   * recorded into it (late and future events too, for the overall series, whose entry carries the
   * metric's counts). Buckets leaving the window by `expire` alone are not changes: a reader
   * evaluates windows at its own clock.
   */
  takeChanges(): SeriesChanges {
    const changed: SeriesRef[] = [];
    const removed: SeriesRef[] = [];
    for (const [metric, change] of this.changes) {
      if (change.overall === 'changed') changed.push({ metric });
      else if (change.overall === 'removed') removed.push({ metric });
      for (const [group, what] of change.groups) (what === 'changed' ? changed : removed).push({ metric, group });
    }
    this.changes.clear();
    return { changed, removed };
  }

  /** Reports every live series as changed at the next `takeChanges` (e.g. after restoring a whole-state snapshot). */
  markAllChanged(): void {
    for (const [metric, state] of this.metrics) {
      this.touch(metric, undefined, 'changed');
      for (const group of state.groups.keys()) this.touch(metric, group, 'changed');
    }
  }

  /** The principal that created a live series (see `recordMetric`); undefined when unknown or not live. */
  seriesPrincipal(ref: SeriesRef): string | undefined {
    const state = this.metrics.get(ref.metric);
    return (ref.group === undefined ? state?.overall : state?.groups.get(ref.group))?.principal;
  }

  /** Every live series. */
  *series(): IterableIterator<SeriesRef> {
    for (const [metric, state] of this.metrics) {
      yield { metric };
      for (const group of state.groups.keys()) yield { metric, group };
    }
  }

  /**
   * One series alone (undefined when it does not exist): its window and sketches; the overall
   * series also carries the metric's window length, its total, late and future counts and their
   * arrival tallies. Layout: version u8 · windowSeconds · [overall: total, late, future, tallies] ·
   * last-seen ms · window · sketches.
   */
  serializeSeries(ref: SeriesRef): Uint8Array | undefined {
    const state = this.metrics.get(ref.metric);
    if (state === undefined) return undefined;
    const series = ref.group === undefined ? state.overall : state.groups.get(ref.group);
    if (series === undefined) return undefined;
    const w = new ByteWriter(512);
    w.u8(SERIES_VERSION);
    w.varUint(state.windowSeconds);
    if (ref.group === undefined) {
      w.varUint(state.totalEvents);
      w.varUint(state.lateEvents);
      w.varUint(state.futureEvents);
      writeArrivals(w, state.arrivals);
    }
    writeSeries(w, series);
    return w.finish();
  }

  /**
   * Puts a `serializeSeries` state in place of `ref` (series may be loaded in any order: a group
   * before its overall series creates the metric with an empty overall series and zero counts,
   * which loading the overall series then replaces). Does not count as a change. `principal`: the
   * series' principal (`seriesPrincipal`), which its state bytes do not carry (a snapshot entry
   * holds it beside them).
   */
  loadSeries(ref: SeriesRef, bytes: Uint8Array, principal?: string): void {
    const r = new ByteReader(bytes);
    const version = readSeriesVersion(r);
    const windowSeconds = r.varUint();
    const counts =
      ref.group === undefined
        ? { totalEvents: r.varUint(), lateEvents: r.varUint(), futureEvents: r.varUint(), arrivals: version >= 2 ? this.readArrivals(r) : undefined }
        : undefined;
    const series = this.readSeries(r, windowSeconds, SERIAL_VERSION);
    r.expectEnd('series snapshot');
    series.metric = ref.metric;
    series.group = ref.group;
    series.principal = principal;
    let state = this.metrics.get(ref.metric);
    if (state === undefined) {
      state = this.newMetric(ref.metric, windowSeconds, series.lastSeenMs);
      this.metrics.set(ref.metric, state);
    }
    if (ref.group === undefined) {
      state.overall.gone = true;
      state.overall = series;
      state.windowSeconds = windowSeconds;
      Object.assign(state, counts);
    } else {
      const replaced = state.groups.get(ref.group);
      if (replaced === undefined) this.activeSeries++;
      else replaced.gone = true;
      state.groups.set(ref.group, series);
    }
    this.schedule(series);
  }

  /**
   * The window of a `serializeSeries` state of an overall series (`overall`) or a group, decoded
   * without its percentile sketches: what a reader needs for rates (`SlidingWindow.recentCounts`).
   */
  static readSeriesWindow(bytes: Uint8Array, overall: boolean): SlidingWindow {
    const r = new ByteReader(bytes);
    const version = readSeriesVersion(r);
    r.varUint(); // window seconds
    if (overall) {
      r.varUint(); // total, late and future events
      r.varUint();
      r.varUint();
      if (version >= 2) ArrivalTallies.skip(r);
    }
    r.varInt(); // last-seen ms
    return SlidingWindow.readFrom(r);
  }

  /** An empty aggregator with the options a `serialize` or `serializeShared` state was made with (reads only its header). */
  static emptyFrom(bytes: Uint8Array): StreamingAggregator {
    return StreamingAggregator.readHeader(new ByteReader(bytes)).agg;
  }

  private static readHeader(r: ByteReader): { agg: StreamingAggregator; version: number } {
    const magic = (r.u8() << 8) | r.u8();
    if (magic !== MAGIC) throw new DeserializationError(`StreamingAggregator snapshot must start with "SA", got 0x${magic.toString(16)}`);
    const version = r.u8();
    // Version 1 (before window tiers) is still read: its 1 s buckets are merged into blocks as they
    // load. Versions 1 and 2 (before late/future counts) read as zero late and future events per
    // metric. Versions 1–3 held all-time top-K summaries, which cannot be placed in a window: dropped.
    // Versions 1–4 (before series principals) read as series of no known principal. Versions 1–5
    // (before arrival tallies) read as no late or future events in any window.
    if (version < 1 || version > SERIAL_VERSION) throw new DeserializationError(`StreamingAggregator snapshot version must be 1 to ${SERIAL_VERSION}, got ${version}`);
    const windowSeconds = r.varUint();
    const rateWindowSeconds = r.varUint();
    const maxSeries = r.varUint();
    const idleExpiryMs = r.varUint();
    const relativeAccuracy = r.f64();
    const topKCapacity = r.varUint();
    const percentileSubWindows = r.varUint();
    const coarseBucketSeconds = version === 1 ? undefined : r.varUint();
    const windowOverrides = new Map<string, number>();
    const overrideCount = r.varUint();
    for (let i = 0; i < overrideCount; i++) windowOverrides.set(r.string(), r.varUint());
    const agg = new StreamingAggregator({
      windowSeconds, windowOverrides, rateWindowSeconds, maxSeries, idleExpiryMs, relativeAccuracy, topKCapacity, percentileSubWindows, coarseBucketSeconds,
    });
    return { agg, version };
  }

  static deserialize(bytes: Uint8Array): StreamingAggregator {
    const r = new ByteReader(bytes);
    const { agg, version } = StreamingAggregator.readHeader(r);
    agg.lateEvents = r.varUint();
    agg.refusedEvents = r.varUint();
    agg.windowExpirations = r.varUint();
    agg.expiredSeries = r.varUint();
    agg.totalEvents = r.varUint();
    agg.futureEvents = version >= 3 ? r.varUint() : 0;
    const metricCount = r.varUint();
    for (let i = 0; i < metricCount; i++) {
      const name = r.string();
      const metricWindow = r.varUint();
      const totalEvents = r.varUint();
      const lateEvents = version >= 3 ? r.varUint() : 0;
      const futureEvents = version >= 3 ? r.varUint() : 0;
      const arrivals = version >= 6 ? agg.readArrivals(r) : undefined;
      const overallPrincipal = version >= 5 ? r.string() : '';
      const overall = agg.readSeries(r, metricWindow, version);
      overall.metric = name;
      if (overallPrincipal !== '') overall.principal = overallPrincipal;
      agg.schedule(overall);
      const groups = new Map<string, Series>();
      const groupCount = r.varUint();
      for (let g = 0; g < groupCount; g++) {
        const group = r.string();
        const principal = version >= 5 ? r.string() : '';
        const series = agg.readSeries(r, metricWindow, version);
        series.metric = name;
        series.group = group;
        if (principal !== '') series.principal = principal;
        agg.schedule(series);
        groups.set(group, series);
      }
      agg.metrics.set(name, { windowSeconds: metricWindow, overall, groups, totalEvents, lateEvents, futureEvents, arrivals });
      agg.activeSeries += 1 + groupCount;
    }
    const topicCount = r.varUint();
    for (let i = 0; i < topicCount; i++) {
      const topic = r.string();
      const lastSeenMs = r.varInt();
      agg.topics.set(topic, { lastSeenMs, counter: RateCounter.readFrom(r) });
    }
    const dimCount = r.varUint();
    for (let i = 0; i < dimCount; i++) {
      const dimension = r.string();
      if (version >= 4) agg.dims.set(dimension, WindowedTopK.readFrom(r));
      else SpaceSaving.readFrom(r); // all-time counts: skipped, the windowed top-K refills within a window
    }
    r.expectEnd('StreamingAggregator');
    return agg;
  }

  /** Stats of the metric's overall series and of each group (or only `group`); undefined when unknown. */
  metricStats(metricName: string, nowMs: number, group?: string): MetricStatsResult | undefined {
    const state = this.metrics.get(metricName);
    if (state === undefined) return undefined;
    const groups = namedRecord<SeriesStats>();
    let stats: SeriesStats;
    if (group !== undefined) {
      const series = state.groups.get(group);
      if (series === undefined) return undefined;
      stats = this.seriesStats(series, state.windowSeconds, nowMs);
      groups[group] = stats;
    } else {
      stats = this.seriesStats(state.overall, state.windowSeconds, nowMs);
      for (const [name, series] of state.groups) groups[name] = this.seriesStats(series, state.windowSeconds, nowMs);
    }
    return {
      metric_name: metricName,
      stats,
      groups,
      window_seconds: state.windowSeconds,
      total_events: state.totalEvents,
      late_events: state.lateEvents,
      future_events: state.futureEvents,
      timestamp: new Date(nowMs).toISOString(),
      accuracy: { percentile_relative_error: this.relativeAccuracy },
    };
  }

  /** The metric's window length and event counts, those in the window at `nowMs` too (no statistics computed); undefined when unknown. */
  metricCounts(metricName: string, nowMs: number): MetricCounts | undefined {
    const state = this.metrics.get(metricName);
    if (state === undefined) return undefined;
    const recent = state.arrivals?.inWindow(nowMs, state.windowSeconds) ?? { late: 0, future: 0 };
    return {
      window_seconds: state.windowSeconds,
      total_events: state.totalEvents,
      late_events: state.lateEvents,
      future_events: state.futureEvents,
      late_events_in_window: recent.late,
      future_events_in_window: recent.future,
    };
  }

  /**
   * Each metric with late or future events that arrived in its window at `nowMs`, with those counts
   * (as `metricCounts`' `..._in_window`); a metric that never had one costs a map entry check.
   */
  *arrivalsInWindow(nowMs: number): IterableIterator<{ metric: string; late: number; future: number }> {
    for (const [metric, state] of this.metrics) {
      if (state.arrivals === undefined) continue;
      const { late, future } = state.arrivals.inWindow(nowMs, state.windowSeconds);
      if (late + future > 0) yield { metric, late, future };
    }
  }

  /** metric name → overall stats, for every live metric (an object without a prototype). */
  allStats(nowMs: number): Record<string, SeriesStats> {
    const out = namedRecord<SeriesStats>();
    for (const [name, state] of this.metrics) out[name] = this.seriesStats(state.overall, state.windowSeconds, nowMs);
    return out;
  }

  /**
   * The `k` heaviest items of `dimension` in the window at `nowMs`, with their Space-Saving error
   * bounds (true count in `[count − error, count]`) and the largest of those bounds over every
   * item the window's summary monitors (`accuracy.max_overcount`); undefined when the dimension is unknown.
   */
  topK(dimension: string, k: number, nowMs: number): TopKResult | undefined {
    const topK = this.dims.get(dimension);
    if (topK === undefined) return undefined;
    const { items, maxOvercount } = topK.topWithOvercount(k, nowMs);
    return { dimension, items, window_seconds: this.windowSeconds, accuracy: { max_overcount: maxOvercount } };
  }

  /** True when the aggregator holds state of `metricName` (whatever its window holds). */
  hasMetric(metricName: string): boolean {
    return this.metrics.has(metricName);
  }

  /** Dimension names, sorted. */
  dimensions(): string[] {
    return [...this.dims.keys()].sort();
  }

  /** Events per second over `rateWindowSeconds` per topic and per metric (overall series). */
  rates(nowMs: number): RatesResult {
    const topics = namedRecord<number>();
    for (const [topic, state] of this.topics) topics[topic] = state.counter.result(nowMs).ratePerSec;
    const metrics = namedRecord<number>();
    for (const [name, state] of this.metrics) {
      metrics[name] = state.overall.window.countInLast(this.rateWindowSeconds, nowMs) / this.rateWindowSeconds;
    }
    return { topics, metrics, window_seconds: this.rateWindowSeconds };
  }

  counters(): AggregatorCounters {
    return {
      activeSeries: this.activeSeries,
      lateEvents: this.lateEvents,
      refusedEvents: this.refusedEvents,
      futureEvents: this.futureEvents,
      windowExpirations: this.windowExpirations,
      expiredSeries: this.expiredSeries,
      totalEvents: this.totalEvents,
    };
  }

  /** A metric with an empty overall series (counted in `activeSeries`). */
  private newMetric(name: string, windowSeconds: number, lastSeenMs: number, principal?: string): MetricState {
    this.activeSeries++;
    return { windowSeconds, overall: this.newSeries(name, undefined, windowSeconds, lastSeenMs, principal), groups: new Map(), totalEvents: 0, lateEvents: 0, futureEvents: 0, arrivals: undefined };
  }

  /** Counts a late or future event of `state` by its arrival at `nowMs`. */
  private tally(state: MetricState, kind: 'late' | 'future', nowMs: number): void {
    (state.arrivals ??= new ArrivalTallies(this.coarseBucketSeconds)).add(kind, nowMs, state.windowSeconds);
  }

  /** An `ArrivalTallies.writeTo` state (undefined when it holds no block). */
  private readArrivals(r: ByteReader): ArrivalTallies | undefined {
    const arrivals = ArrivalTallies.readFrom(r, this.coarseBucketSeconds);
    return arrivals.empty ? undefined : arrivals;
  }

  private touch(metric: string, group: string | undefined, what: 'changed' | 'removed'): void {
    let change = this.changes.get(metric);
    if (change === undefined) {
      change = { overall: undefined, groups: new Map() };
      this.changes.set(metric, change);
    }
    if (group === undefined) change.overall = what;
    else change.groups.set(group, what);
  }

  private newTopK(): WindowedTopK {
    return new WindowedTopK({ windowSeconds: this.windowSeconds, subWindows: this.percentileSubWindows, capacity: this.topKCapacity });
  }

  /** An empty series, queued for its idle expiry. */
  private newSeries(metric: string, group: string | undefined, windowSeconds: number, lastSeenMs: number, principal?: string): Series {
    const series = new Series(
      new SlidingWindow(this.windowTiers(windowSeconds)),
      new WindowedQuantiles({ windowSeconds, subWindows: this.percentileSubWindows, relativeAccuracy: this.relativeAccuracy }),
      Math.floor(lastSeenMs),
      metric,
      group,
      principal,
    );
    this.schedule(series);
    return series;
  }

  /** Adds `from` into `into` (of this aggregator), tallying the buckets the merge pushed out and queuing `into` earlier if it now holds older data. */
  private mergeInto(into: Series, from: Series): void {
    mergeSeries(into, from);
    this.pendingDropped += into.window.takeDroppedBuckets();
    this.schedule(into);
  }

  /** The SlidingWindow of a series: retained for max(window, rate window), 1 s buckets for the rate window. */
  private windowTiers(windowSeconds: number): { windowSeconds: number; fineSeconds: number; coarseSeconds: number } {
    const kept = Math.max(windowSeconds, this.rateWindowSeconds);
    return { windowSeconds: kept, fineSeconds: this.rateWindowSeconds, coarseSeconds: Math.min(this.coarseBucketSeconds, kept) };
  }

  private readSeries(r: ByteReader, windowSeconds: number, version: number): Series {
    const lastSeenMs = r.varInt();
    const window = version === 1 ? SlidingWindow.readFrom(r, this.windowTiers(windowSeconds)) : SlidingWindow.readFrom(r);
    const quantiles = WindowedQuantiles.readContents(r, { windowSeconds, subWindows: this.percentileSubWindows, relativeAccuracy: this.relativeAccuracy });
    return new Series(window, quantiles, lastSeenMs);
  }

  private expireSeries(series: Series, nowMs: number): void {
    series.window.expire(nowMs);
    this.windowExpirations += series.window.takeDroppedBuckets();
    series.quantiles.expire(nowMs);
  }

  private seriesStats(series: Series, windowSeconds: number, nowMs: number): SeriesStats {
    const w = series.window.result(nowMs, windowSeconds);
    const q = series.quantiles.result(nowMs);
    return {
      count: w.count,
      sum: w.sum,
      mean: w.mean,
      min: w.min,
      max: w.max,
      variance: w.variance,
      stddev: w.stddev,
      p50: q.p50,
      p90: q.p90,
      p95: q.p95,
      p99: q.p99,
      rate_per_sec: series.window.countInLast(this.rateWindowSeconds, nowMs) / this.rateWindowSeconds,
    };
  }
}

/**
 * An object for an answer keyed by user-supplied names (metrics, groups, topics), without a
 * prototype: `out['__proto__'] = x` then creates an own key that JSON.stringify writes, and
 * `constructor` or `toString` are never read from Object.prototype.
 */
function namedRecord<V>(): Record<string, V> {
  return Object.create(null) as Record<string, V>;
}

function mergeSeries(into: Series, from: Series): void {
  into.window.merge(from.window);
  into.quantiles.merge(from.quantiles);
  if (from.lastSeenMs > into.lastSeenMs) into.lastSeenMs = from.lastSeenMs;
}

function writeArrivals(w: ByteWriter, arrivals: ArrivalTallies | undefined): void {
  if (arrivals === undefined) w.varUint(0);
  else arrivals.writeTo(w);
}

/** A `serializeSeries` state's version byte: 1 (no arrival tallies) or 2. */
function readSeriesVersion(r: ByteReader): number {
  const version = r.u8();
  if (version < 1 || version > SERIES_VERSION) throw new DeserializationError(`series snapshot version must be 1 to ${SERIES_VERSION}, got ${version}`);
  return version;
}

function writeSeries(w: ByteWriter, series: Series): void {
  w.varInt(series.lastSeenMs);
  series.window.writeTo(w);
  series.quantiles.writeContents(w);
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

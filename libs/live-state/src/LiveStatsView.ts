import { StreamingAggregator, type MetricCounts, type SeriesRef } from '@pipeline/aggregation';
import { partitionForKey } from '@pipeline/kafka';
import { windowBounds, type AnswerCompleteness, type LiveMetricStats, type LiveRates, type LiveSeriesStats, type LiveTopK, type MetricCompleteness } from './answerCompleteness';
import { committedEntry, LiveStateIndex, type FencedWrite, type PartitionEntries } from './LiveStateIndex';
import { partitionBase, seriesId } from './liveStateKeys';
import { SlicedQueue } from './SlicedQueue';

export interface AllStatsPage {
  /** metric name → overall stats with their accuracy and completeness, in name order (an object without a prototype). */
  stats: Record<string, LiveSeriesStats>;
  /** The last name of this page when more metrics follow (pass it as `after` for the next page). */
  next: string | undefined;
}

/** A series a producer is about to write, with the Kafka key its event goes out with (the key picks the input partition). */
export interface PlannedSeries {
  ref: SeriesRef;
  key: string;
}

/** The first planned series the aggregator would refuse for its partition's series cap (see `seriesRefusal`). */
export interface SeriesCapRefusal {
  kind: 'series_limit';
  /** Its place in the list given. */
  index: number;
  ref: SeriesRef;
  topic: string;
  partition: number;
  /** The partition's cap: the aggregator's `maxSeries` per partition (AGG_MAX_SERIES shared by the partitions). */
  cap: number;
  /** The partition's live series as of the last round it wrote. */
  live: number;
}

/** A producer's limit on the live series it created (see `seriesRefusal`). */
export interface SeriesQuota {
  /** Who is about to write, as the aggregator records it (`key:1a2b3c4d5e6f`). */
  principal: string;
  /** Most live series `principal` may have created, over every partition of the topic. */
  maxSeries: number;
}

/** The first planned series that would take its producer past its series quota (see `seriesRefusal`). */
export interface SeriesQuotaRefusal {
  kind: 'series_quota';
  index: number;
  ref: SeriesRef;
  topic: string;
  partition: number;
  principal: string;
  quota: number;
  /** The principal's live series over the topic's partitions, as of the last round each wrote. */
  live: number;
}

export type SeriesRefusal = SeriesCapRefusal | SeriesQuotaRefusal;

export interface AllStatsQuery {
  /** Only metrics whose name starts with this. */
  prefix?: string;
  /** Only metrics whose name sorts after this one (the `next` of the previous page). */
  after?: string;
  /** Most metrics on the page (default: all). */
  limit?: number;
}

/**
 * Live statistics read from the state topic, per metric: what a gateway serves. Like a Kafka
 * Streams interactive query, a read touches one key's state: `metricStats('cpu')` decodes and
 * merges only cpu's series (overall and groups) of each input partition, in partition order, and
 * keeps the merged state until one of those entries (or a marker committing one) changes. Feeding a
 * round costs the messages it carries: entries are indexed as bytes, nothing is decoded until read.
 * `feed` only queues a message; the queue is indexed in slices of a few ms on later turns of the
 * event loop (a round of 10,000 changed series never blocks it in one go), and every read first
 * indexes what is still queued, so it answers from every message fed before it.
 *
 * `topK` and `rates` topics come from the partitions' shared state (bounded by the top-K capacity,
 * not by the series), merged once per marker change. `rates` lists every metric from a small
 * per-metric table of its last rate-window seconds of counts (≤ 61 numbers, decoded from the
 * metric's overall entries only when one of them changed), never from its groups or sketches; and
 * `allStats` without a `limit` lists every metric too: those answers cost what they list.
 *
 * Every answer carries its `completeness` (see answerCompleteness.ts), read from the markers of the
 * partitions behind it — for a metric, the partitions holding its committed series; for top-K and
 * rates, every partition that has reported — so it costs the partitions, never the series.
 */
export class LiveStatsView {
  private readonly index: LiveStateIndex;
  /** Per metric: its series of every partition merged, and the partitions they came from (null: unknown). */
  private readonly merged = new Map<string, MergedMetric | null>();
  /** Per metric: the counts of its overall series' last rate-window seconds, all partitions added (null: none committed). */
  private readonly recent = new Map<string, RecentCounts | null>();
  private readonly inputPartitions = new Map<string, number>();
  private readonly templates = new Map<string, StreamingAggregator>();
  private mergedShared: StreamingAggregator | null | undefined;
  private names: string[] | undefined;
  private readonly nameSet = new Set<string>();

  private readonly group: string | undefined;
  /** Keeps no series states: judges new series (`seriesRefusal`, `liveSeriesOf`) but answers no stats. */
  private readonly seriesOnly: boolean;
  private readonly cacheSize: number;
  private readonly queue = new SlicedQueue<[string | null, Buffer | null | undefined]>(([key, value]) => this.apply(key, value));

  /**
   * `group`: the aggregator deployment whose state to read (default: any). `cachedMetrics`: merged
   * metric states kept for the next read (least recently read dropped first; default 1,000): bounds
   * the decoded copies a reader paging through every metric leaves behind. `inputPartitions`: input
   * topic → its partition count, for `partitions_total` (also `setInputPartitions`). `onFenced`:
   * each write of a stale aggregator the view ignored (see `fencedWrites`). `seriesOnly`: keep no
   * series states, only which series are live and who created them — a few dozen bytes per series,
   * for a service that judges new series but serves no stats (stats reads then throw).
   */
  constructor(
    options: {
      group?: string;
      onError?: (err: unknown, key: string) => void;
      onFenced?: (fenced: FencedWrite) => void;
      cachedMetrics?: number;
      inputPartitions?: ReadonlyMap<string, number>;
      seriesOnly?: boolean;
    } = {},
  ) {
    this.group = options.group;
    this.seriesOnly = options.seriesOnly ?? false;
    this.index = new LiveStateIndex({ group: options.group, onError: options.onError, onFenced: options.onFenced, releaseSuperseded: true, seriesStates: !this.seriesOnly });
    this.cacheSize = Math.max(1, options.cachedMetrics ?? 1000);
    for (const [topic, count] of options.inputPartitions ?? []) this.setInputPartitions(topic, count);
  }

  /** The partition count of an input topic of the aggregator (what `partitions_total` adds up). */
  setInputPartitions(topic: string, count: number): void {
    this.inputPartitions.set(topic, count);
  }

  /**
   * Resolves once at most `maxQueued` fed messages wait to be indexed. A feeder awaits it after each
   * batch so that a backlog (a gateway catching up on the topic, or slower than a round's burst)
   * holds at most that many messages — each a slice of the fetch response it came in, which stays
   * in memory until every message of it is indexed.
   */
  indexed(maxQueued: number): Promise<void> {
    return this.queue.drained(maxQueued);
  }

  /** Feeds one raw message of the state topic (null or empty value: tombstone); indexed before the next read. */
  feed(key: string | null, value: Buffer | null | undefined): void {
    this.queue.push([key, value]);
  }

  private apply(key: string | null, value: Buffer | null | undefined): void {
    const { metrics, marker } = this.index.add(key, value);
    for (const m of metrics) {
      this.merged.delete(m);
      this.recent.delete(m);
      // A new name, or one that may have gone: the sorted list is rebuilt on the next allStats.
      if (!this.nameSet.has(m) || !this.existsNow(m)) this.names = undefined;
    }
    if (marker !== undefined) {
      this.mergedShared = undefined;
      this.templates.delete(marker);
    }
  }

  /** Stats of one metric (overall and per group, or only `group`), merged across partitions; undefined when unknown. */
  metricStats(name: string, nowMs: number, group?: string): LiveMetricStats | undefined {
    this.requireStates();
    this.queue.flush();
    const m = this.metric(name);
    const result = m?.agg.metricStats(name, nowMs, group);
    if (!m || !result) return undefined;
    return { ...result, completeness: this.metricCompleteness(m, m.agg.metricCounts(name, nowMs)!, nowMs) };
  }

  hasMetric(name: string): boolean {
    this.requireStates();
    this.queue.flush();
    return this.metric(name)?.agg.hasMetric(name) ?? false;
  }

  /** Overall stats of the metrics in name order, filtered by prefix and paged. */
  allStats(nowMs: number, query: AllStatsQuery = {}): AllStatsPage {
    this.requireStates();
    this.queue.flush();
    const names = this.sortedNames();
    const prefix = query.prefix ?? '';
    let i = lowerBound(names, prefix);
    if (query.after !== undefined && query.after >= prefix) {
      i = lowerBound(names, query.after);
      if (names[i] === query.after) i++;
    }
    const limit = query.limit ?? Infinity;
    const stats = Object.create(null) as Record<string, LiveSeriesStats>;
    let count = 0;
    for (; i < names.length && names[i]!.startsWith(prefix); i++) {
      if (count === limit) return { stats, next: names[i - 1] };
      const name = names[i]!;
      const m = this.metric(name);
      const s = m?.agg.allStats(nowMs)[name];
      const counts = m?.agg.metricCounts(name, nowMs);
      if (m && s && counts) {
        stats[name] = { ...s, accuracy: { percentile_relative_error: m.agg.relativeAccuracy }, completeness: this.metricCompleteness(m, counts, nowMs) };
        count++;
      }
    }
    return { stats, next: undefined };
  }

  topK(dimension: string, k: number, nowMs: number): LiveTopK | undefined {
    this.queue.flush();
    const result = this.shared()?.topK(dimension, k, nowMs);
    return result && { ...result, completeness: this.sharedCompleteness(nowMs, result.window_seconds) };
  }

  dimensions(): string[] {
    this.queue.flush();
    return this.shared()?.dimensions() ?? [];
  }

  /**
   * Events/s per topic (shared state) and per metric: what one aggregator fed every partition
   * answers, `countInLast(rate window)` of the metric's overall series over all partitions. Per
   * metric it reads the `recentCounts` table (the 1 s buckets of the rate window before the metric's
   * newest second); only a read at a time before that newest second (events stamped ahead of the
   * reader's clock) merges the metric's whole state as `metricStats` does.
   */
  rates(nowMs: number): LiveRates | undefined {
    this.requireStates();
    this.queue.flush();
    const shared = this.shared();
    if (!shared) return undefined;
    const out = shared.rates(nowMs);
    const nowSec = Math.floor(nowMs / 1000);
    for (const name of this.sortedNames()) {
      const recent = this.recentCounts(name);
      if (recent !== null && nowSec >= recent.newestSecond) {
        // Every counted second is ≤ newest ≤ nowSec: the window (nowSec − R, nowSec] is the pairs above nowSec − R.
        const { pairs, spanSeconds } = recent;
        let count = 0;
        for (let i = pairs.length - 2; i >= 0 && pairs[i]! > nowSec - spanSeconds; i -= 2) count += pairs[i + 1]!;
        out.metrics[name] = count / spanSeconds;
      } else {
        const rate = this.metric(name)?.agg.rates(nowMs).metrics[name];
        if (rate !== undefined) out.metrics[name] = rate;
      }
    }
    return { ...out, completeness: this.sharedCompleteness(nowMs, out.window_seconds) };
  }

  /**
   * The first of `planned` (events about to be published on input `topic`) that the aggregator would
   * refuse, or that would take `quota`'s principal past its quota; undefined when all may go. New
   * series are counted as the aggregator counts them, the list's own included: a series of a group of
   * a metric new to the partition takes two places (the metric's overall series and the group's), a
   * series already live takes none and is always let through, however full its partition or quota.
   * - `series_limit`: a new series on a partition already at its series cap (`maxSeries`).
   * - `series_quota`: a new series past `quota.maxSeries`, counting the live series whose newest
   *   entry names `quota.principal` (the principal of the event that created them) over every
   *   partition of `topic`, plus the new ones the list adds. A series created by another principal,
   *   or by none, is not the principal's, even when it sends to it.
   *
   * It answers from the last round each partition wrote (entries and marker of the state topic), so
   * it lags the aggregator by up to a snapshot round: series created since, by this or any other
   * producer, are not counted yet, and a burst of new series can still pass the cap or a quota (the
   * aggregator then refuses past the cap itself and counts them; a quota is not enforced there). It
   * lets everything through for what it cannot judge: an unknown partition count of `topic`, a view
   * of any group (no `group` option), a partition that has not reported a round yet. Costs
   * O(planned), plus O(partitions) once with a quota, never the series held.
   */
  seriesRefusal(topic: string, planned: readonly PlannedSeries[], quota?: SeriesQuota): SeriesRefusal | undefined {
    this.queue.flush();
    const partitions = this.inputPartitions.get(topic);
    if (partitions === undefined || partitions < 1 || this.group === undefined) return undefined;
    /** Per partition base: the new series of `planned` so far (by seriesId). */
    const added = new Map<string, Set<string>>();
    /** The principal's live series, counted at its first new series. */
    let owned: number | undefined;
    let ownedAdded = 0;
    for (let index = 0; index < planned.length; index++) {
      const { ref, key } = planned[index]!;
      const partition = partitionForKey(key, partitions);
      const base = partitionBase(this.group, topic, partition);
      const part = this.index.partition(base);
      if (!part?.marker?.shared) continue;
      let mine = added.get(base);
      if (!mine) added.set(base, (mine = new Set()));
      const fresh: string[] = [];
      for (const series of ref.group === undefined ? [ref] : [{ metric: ref.metric }, ref]) {
        const id = seriesId(series);
        if (!mine.has(id) && !part.hasLive(series)) fresh.push(id);
      }
      if (fresh.length === 0) continue;
      const cap = this.template(part).maxSeries;
      if (part.liveSeries + mine.size + fresh.length > cap) return { kind: 'series_limit', index, ref, topic, partition, cap, live: part.liveSeries };
      if (quota !== undefined) {
        owned ??= this.liveSeriesOf(quota.principal, topic, partitions);
        if (owned + ownedAdded + fresh.length > quota.maxSeries) return { kind: 'series_quota', index, ref, topic, partition, principal: quota.principal, quota: quota.maxSeries, live: owned };
        ownedAdded += fresh.length;
      }
      for (const id of fresh) mine.add(id);
    }
    return undefined;
  }

  /**
   * The live series `principal` created on the `partitions` partitions of input `topic` (as of the
   * last round each wrote; 0 without a `group`). O(partitions).
   */
  liveSeriesOf(principal: string, topic: string, partitions = this.inputPartitions.get(topic) ?? 0): number {
    this.queue.flush();
    if (this.group === undefined) return 0;
    let n = 0;
    for (let p = 0; p < partitions; p++) n += this.index.partition(partitionBase(this.group, topic, p))?.liveByPrincipal.get(principal) ?? 0;
    return n;
  }

  /**
   * Markers and series entries ignored because a later owner of their partition had already written
   * the same key: writes of an aggregator replica that kept going after a rebalance gave its
   * partition to another (see ExactlyOnceState, "Fencing").
   */
  private requireStates(): void {
    if (this.seriesOnly) throw new Error('this LiveStatsView keeps no series states (seriesOnly): it judges new series, it answers no stats');
  }

  get fencedWrites(): number {
    this.queue.flush();
    return this.index.fencedWrites;
  }

  /**
   * The metric's overall series of every partition reduced to the 1 s buckets of the rate window R
   * before their newest second N (seconds N − R + 1 … N, counts added across partitions; each
   * partition's own newest is ≤ N, so those seconds are 1 s buckets there too). Cached until one of
   * the metric's entries changes; null when no partition has a committed overall state of it.
   */
  private recentCounts(name: string): RecentCounts | null {
    const cached = this.recent.get(name);
    if (cached !== undefined) return cached;
    let spanSeconds: number | undefined;
    let newestSecond = -Infinity;
    const counts = new Map<number, number>();
    let usable = true;
    for (const base of this.index.bases()) {
      const part = this.index.partition(base)!;
      const overall = part.metrics.get(name)?.overall;
      if (!overall || !part.marker?.shared) continue;
      const state = committedEntry(overall, part.marker)?.entry.state;
      if (!state) continue;
      spanSeconds ??= this.template(part).rateWindowSeconds;
      const window = StreamingAggregator.readSeriesWindow(state, true);
      if (spanSeconds > window.fineSeconds) usable = false; // not an aggregator's own tiers: no table
      else {
        newestSecond = Math.max(newestSecond, window.newestSecond ?? -Infinity);
        const pairs = window.recentCounts(spanSeconds);
        for (let i = 0; i < pairs.length; i += 2) counts.set(pairs[i]!, (counts.get(pairs[i]!) ?? 0) + pairs[i + 1]!);
      }
    }
    let recent: RecentCounts | null = null;
    if (spanSeconds !== undefined && usable) {
      const seconds = [...counts.keys()].filter((sec) => sec > newestSecond - spanSeconds).sort((a, b) => a - b);
      const pairs = new Float64Array(2 * seconds.length);
      seconds.forEach((sec, i) => {
        pairs[2 * i] = sec;
        pairs[2 * i + 1] = counts.get(sec)!;
      });
      recent = { newestSecond, spanSeconds, pairs };
    }
    this.recent.set(name, recent);
    return recent;
  }

  /** Whether any partition has reported a committed round. */
  get ready(): boolean {
    this.queue.flush();
    return this.index.bases().some((b) => this.index.partition(b)!.marker !== undefined);
  }

  /** The metric's series of every partition merged (cached until one of them changes); null: unknown. */
  private metric(name: string): MergedMetric | null {
    const cached = this.merged.get(name);
    if (cached !== undefined) {
      this.merged.delete(name); // most recently read last
      this.merged.set(name, cached);
      return cached;
    }
    let merged: MergedMetric | null = null;
    for (const base of this.index.bases()) {
      const part = this.index.partition(base)!;
      if (!part.metrics.has(name)) continue;
      const one = this.partitionMetric(part, name);
      if (!one) continue;
      if (merged === null) merged = { agg: one, bases: [base] };
      else {
        merged.agg.merge(one);
        merged.bases.push(base);
      }
    }
    this.merged.set(name, merged);
    if (this.merged.size > this.cacheSize) this.merged.delete(this.merged.keys().next().value!);
    return merged;
  }

  /** One partition's committed series of `name` in an aggregator of its options, or undefined when it holds none. */
  private partitionMetric(part: PartitionEntries, name: string): StreamingAggregator | undefined {
    const marker = part.marker;
    if (!marker?.shared) return undefined;
    let agg: StreamingAggregator | undefined;
    for (const series of part.seriesOf(name)) {
      const c = committedEntry(series, marker);
      if (!c?.entry.state) continue;
      agg ??= this.template(part).emptyLike();
      agg.loadSeries(series.ref, c.entry.state);
    }
    return agg;
  }

  private template(part: PartitionEntries): StreamingAggregator {
    let t = this.templates.get(part.base);
    if (!t) this.templates.set(part.base, (t = StreamingAggregator.emptyFrom(part.marker!.shared!)));
    return t;
  }

  /**
   * A metric answer's completeness: its window, late and future counts, and the progress of the
   * partitions its series came from (their markers as they are now: a marker moves on without the
   * metric's entries changing). Partitions: those of the input topics of those partitions.
   */
  private metricCompleteness(m: MergedMetric, counts: MetricCounts, nowMs: number): MetricCompleteness {
    const behind = m.bases.map((b) => this.index.partition(b)!);
    return {
      ...this.progress(behind, nowMs, counts.window_seconds, new Set(behind.map((p) => p.topic))),
      late_events: counts.late_events,
      future_events: counts.future_events,
      late_events_in_window: counts.late_events_in_window,
      future_events_in_window: counts.future_events_in_window,
    };
  }

  /** Completeness of an answer from the shared states (top-K, rates): every partition that has reported, over every input topic. */
  private sharedCompleteness(nowMs: number, windowSeconds: number): AnswerCompleteness {
    const behind = this.index.bases().map((b) => this.index.partition(b)!).filter((p) => p.marker?.shared !== undefined);
    return this.progress(behind, nowMs, windowSeconds, new Set([...this.inputPartitions.keys(), ...behind.map((p) => p.topic)]));
  }

  private progress(behind: PartitionEntries[], nowMs: number, windowSeconds: number, topics: Set<string | undefined>): AnswerCompleteness {
    let watermark = Infinity;
    let produced = Infinity;
    for (const p of behind) {
      watermark = Math.min(watermark, p.marker!.watermarkMs);
      produced = Math.min(produced, p.marker!.producedAtMs);
    }
    let reported = 0;
    for (const base of this.index.bases()) {
      const p = this.index.partition(base)!;
      if (p.marker !== undefined && topics.has(p.topic)) reported++;
    }
    let total: number | null = 0;
    for (const topic of topics) {
      const count = topic === undefined ? undefined : this.inputPartitions.get(topic);
      total = count === undefined || total === null ? null : total + count;
    }
    return {
      ...windowBounds(nowMs, windowSeconds),
      watermark: watermark === Infinity || watermark <= 0 ? null : new Date(watermark).toISOString(),
      snapshot_age_ms: produced === Infinity ? null : Math.max(0, nowMs - produced),
      partitions_reported: reported,
      partitions_total: total,
    };
  }

  private existsNow(name: string): boolean {
    for (const base of this.index.bases()) {
      const part = this.index.partition(base)!;
      const overall = part.metrics.get(name)?.overall;
      if (overall && committedEntry(overall, part.marker)?.entry.deleted === false) return true;
    }
    return false;
  }

  private sortedNames(): string[] {
    if (this.names) return this.names;
    const seen = new Set<string>();
    for (const base of this.index.bases()) for (const name of this.index.partition(base)!.metrics.keys()) seen.add(name);
    this.nameSet.clear();
    for (const name of seen) if (this.existsNow(name)) this.nameSet.add(name);
    this.names = [...this.nameSet].sort();
    return this.names;
  }

  private shared(): StreamingAggregator | undefined {
    if (this.mergedShared !== undefined) return this.mergedShared ?? undefined;
    let merged: StreamingAggregator | null = null;
    for (const base of this.index.bases()) {
      const shared = this.index.partition(base)!.marker?.shared;
      if (!shared) continue;
      const one = StreamingAggregator.fromShared(shared);
      if (merged === null) merged = one;
      else merged.merge(one);
    }
    this.mergedShared = merged;
    return merged ?? undefined;
  }
}

/** A metric's last rate-window seconds of counts (see `recentCounts`). */
interface RecentCounts {
  /** The newest second of any partition's overall series (−Infinity: all empty). */
  newestSecond: number;
  /** The rate window, seconds. */
  spanSeconds: number;
  /** [second, count] pairs, oldest first, seconds newestSecond − spanSeconds + 1 … newestSecond. */
  pairs: Float64Array;
}

interface MergedMetric {
  agg: StreamingAggregator;
  /** The partitions holding committed series of the metric, in merge order. */
  bases: string[];
}

/** First index whose name is ≥ `key` (names sorted by UTF-16 code units, as `sort()` does). */
function lowerBound(names: readonly string[], key: string): number {
  let lo = 0;
  let hi = names.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (names[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

import { StreamingAggregator, type MetricStatsResult, type RatesResult, type SeriesStats, type TopKResult } from '@pipeline/aggregation';
import { committedEntry, LiveStateIndex, type PartitionEntries } from './LiveStateIndex';
import { SlicedQueue } from './SlicedQueue';

export interface AllStatsPage {
  /** metric name → overall stats, in name order (an object without a prototype). */
  stats: Record<string, SeriesStats>;
  /** The last name of this page when more metrics follow (pass it as `after` for the next page). */
  next: string | undefined;
}

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
 * not by the series), merged once per marker change. `rates` lists every metric, and
 * `allStats` without a `limit` every metric too: those answers cost what they list.
 */
export class LiveStatsView {
  private readonly index: LiveStateIndex;
  private readonly merged = new Map<string, StreamingAggregator | null>();
  private readonly templates = new Map<string, StreamingAggregator>();
  private mergedShared: StreamingAggregator | null | undefined;
  private names: string[] | undefined;
  private readonly nameSet = new Set<string>();

  private readonly cacheSize: number;
  private readonly queue = new SlicedQueue<[string | null, Buffer | null | undefined]>(([key, value]) => this.apply(key, value));

  /**
   * `group`: the aggregator deployment whose state to read (default: any). `cachedMetrics`: merged
   * metric states kept for the next read (least recently read dropped first; default 1,000): bounds
   * the decoded copies a reader paging through every metric leaves behind.
   */
  constructor(options: { group?: string; onError?: (err: unknown, key: string) => void; cachedMetrics?: number } = {}) {
    this.index = new LiveStateIndex({ group: options.group, onError: options.onError });
    this.cacheSize = Math.max(1, options.cachedMetrics ?? 1000);
  }

  /** Feeds one raw message of the state topic (null or empty value: tombstone); indexed before the next read. */
  feed(key: string | null, value: Buffer | null | undefined): void {
    this.queue.push([key, value]);
  }

  private apply(key: string | null, value: Buffer | null | undefined): void {
    const { metrics, marker } = this.index.add(key, value);
    for (const m of metrics) {
      this.merged.delete(m);
      // A new name, or one that may have gone: the sorted list is rebuilt on the next allStats.
      if (!this.nameSet.has(m) || !this.existsNow(m)) this.names = undefined;
    }
    if (marker !== undefined) {
      this.mergedShared = undefined;
      this.templates.delete(marker);
    }
  }

  /** Stats of one metric (overall and per group, or only `group`), merged across partitions; undefined when unknown. */
  metricStats(name: string, nowMs: number, group?: string): MetricStatsResult | undefined {
    this.queue.flush();
    return this.metric(name)?.metricStats(name, nowMs, group);
  }

  hasMetric(name: string): boolean {
    this.queue.flush();
    return this.metric(name)?.hasMetric(name) ?? false;
  }

  /** Overall stats of the metrics in name order, filtered by prefix and paged. */
  allStats(nowMs: number, query: AllStatsQuery = {}): AllStatsPage {
    this.queue.flush();
    const names = this.sortedNames();
    const prefix = query.prefix ?? '';
    let i = lowerBound(names, prefix);
    if (query.after !== undefined && query.after >= prefix) {
      i = lowerBound(names, query.after);
      if (names[i] === query.after) i++;
    }
    const limit = query.limit ?? Infinity;
    const stats = Object.create(null) as Record<string, SeriesStats>;
    let count = 0;
    for (; i < names.length && names[i]!.startsWith(prefix); i++) {
      if (count === limit) return { stats, next: names[i - 1] };
      const name = names[i]!;
      const s = this.metric(name)?.allStats(nowMs)[name];
      if (s) {
        stats[name] = s;
        count++;
      }
    }
    return { stats, next: undefined };
  }

  topK(dimension: string, k: number, nowMs: number): TopKResult | undefined {
    this.queue.flush();
    return this.shared()?.topK(dimension, k, nowMs);
  }

  dimensions(): string[] {
    this.queue.flush();
    return this.shared()?.dimensions() ?? [];
  }

  /** Events/s per topic (shared state) and per metric (each metric's overall series: costs every metric). */
  rates(nowMs: number): RatesResult | undefined {
    this.queue.flush();
    const shared = this.shared();
    if (!shared) return undefined;
    const out = shared.rates(nowMs);
    for (const name of this.sortedNames()) {
      const rate = this.metric(name)?.rates(nowMs).metrics[name];
      if (rate !== undefined) out.metrics[name] = rate;
    }
    return out;
  }

  /** Whether any partition has reported a committed round. */
  get ready(): boolean {
    this.queue.flush();
    return this.index.bases().some((b) => this.index.partition(b)!.marker !== undefined);
  }

  /** The metric's series of every partition merged (cached until one of them changes); null: unknown. */
  private metric(name: string): StreamingAggregator | null {
    const cached = this.merged.get(name);
    if (cached !== undefined) {
      this.merged.delete(name); // most recently read last
      this.merged.set(name, cached);
      return cached;
    }
    let merged: StreamingAggregator | null = null;
    for (const base of this.index.bases()) {
      const part = this.index.partition(base)!;
      if (!part.metrics.has(name)) continue;
      const one = this.partitionMetric(part, name);
      if (!one) continue;
      if (merged === null) merged = one;
      else merged.merge(one);
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
      const c = committedEntry(series, marker.round);
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

  private existsNow(name: string): boolean {
    for (const base of this.index.bases()) {
      const part = this.index.partition(base)!;
      const overall = part.metrics.get(name)?.overall;
      if (overall && committedEntry(overall, part.marker?.round)?.entry.deleted === false) return true;
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

import { SNAPSHOT_CHUNK_BYTES } from '@pipeline/aggregation';
import { ConfigError, envInt, envString, readBaseConfig, type BaseConfig } from '@pipeline/service-runtime';

export interface AggregatorConfig extends BaseConfig {
  /** Statistics window per metric, seconds (AGG_WINDOW_SECONDS, default 300). */
  windowSeconds: number;
  /** Per-metric windows, AGG_WINDOW_OVERRIDES="cpu_usage=60,latency_ms=600" (a Map: any metric name, `constructor` too). */
  windowOverrides: Map<string, number>;
  /** Window of rate_per_sec and /pipeline/rates, seconds (default 60). */
  rateWindowSeconds: number;
  /**
   * Window statistics keep 1 s buckets for the newest rate window and merge older seconds into blocks
   * of this many seconds (AGG_COARSE_BUCKET_SECONDS, default 5; 1 = 1 s buckets everywhere). The far
   * end of a window then moves in these steps; a busy 300 s series takes ~4.4 KB instead of 12 KB.
   */
  coarseBucketSeconds: number;
  /** Live series cap across the whole metric topic (default 10,000); each input partition gets an equal share. */
  maxSeries: number;
  /** How often dirty partition states are snapshotted and their offsets committed (ms, default 500). */
  snapshotIntervalMs: number;
  /**
   * Snapshot bandwidth budget per replica (bytes/s, default 8 MiB/s). A round of B bytes delays the
   * next one to at least B / budget seconds, so a round where every one of 10,000 busy series
   * changed (≈ 31 MB, 3.1 KB a series: BENCHMARKS.md) is followed by a pause instead of flooding Kafka; small rounds keep the interval.
   */
  snapshotBytesPerSec: number;
  /**
   * Most bytes of series entries per produce request of a snapshot round (AGG_SNAPSHOT_CHUNK_BYTES,
   * default 1 MiB): a round of many changed series (10,000 busy series ≈ 31 MB) goes as several requests.
   */
  snapshotChunkBytes: number;
  /**
   * How far ahead of this replica's clock an event may be stamped and still count, seconds
   * (AGG_MAX_FUTURE_SKEW_SECONDS, default 60). One stamped further ahead never moves the partition's
   * event-time watermark and is left out of every window; it is counted as the metric's
   * `future_events` and in pipeline_aggregator_future_events_total.
   */
  maxFutureSkewSeconds: number;
  /**
   * Space-Saving capacity per top-K dimension and sub-window (AGG_TOPK_CAPACITY, default 100): top-K
   * covers the stats window in tenths, merged per answer, so items above 1 % of the window's weight
   * are always listed.
   */
  topKCapacity: number;
  /**
   * How many metrics /metrics lists in pipeline_aggregator_metric_events_in_window (AGG_WINDOW_EVENTS_METRICS,
   * default 20; 0: none): those of this replica with the most late plus future events arrived in
   * their window. Bounded so that a flood of badly stamped metrics cannot flood the scrape.
   */
  windowEventsMetrics: number;
  groupId: string;
}

function parseOverrides(raw: string): Map<string, number> {
  const out = new Map<string, number>();
  if (!raw.trim()) return out;
  for (const part of raw.split(',')) {
    const [name, secs] = part.split('=').map((s) => s.trim());
    const n = Number(secs);
    if (!name || !Number.isInteger(n) || n < 1) throw new ConfigError(`AGG_WINDOW_OVERRIDES entries must be metric=seconds with whole seconds ≥ 1, got "${part}"`);
    out.set(name, n);
  }
  return out;
}

export function readAggregatorConfig(env: Record<string, string | undefined> = process.env, opts: { requireBrokers?: boolean } = {}): AggregatorConfig {
  const groupId = envString(env, 'AGG_GROUP_ID', 'pipeline-aggregator');
  // The group starts every key of its state on the snapshot topic, where `|` and `#` separate parts.
  if (/[|#]/.test(groupId)) throw new ConfigError(`AGG_GROUP_ID must not contain "|" or "#", got "${groupId}"`);
  return {
    ...readBaseConfig(env, 'aggregator', 8082, opts),
    windowSeconds: envInt(env, 'AGG_WINDOW_SECONDS', 300, { min: 1, max: 86_400 }),
    windowOverrides: parseOverrides(envString(env, 'AGG_WINDOW_OVERRIDES', '')),
    rateWindowSeconds: envInt(env, 'AGG_RATE_WINDOW_SECONDS', 60, { min: 1, max: 3_600 }),
    coarseBucketSeconds: envInt(env, 'AGG_COARSE_BUCKET_SECONDS', 5, { min: 1, max: 60 }),
    maxSeries: envInt(env, 'AGG_MAX_SERIES', 10_000, { min: 1 }),
    snapshotIntervalMs: envInt(env, 'AGG_SNAPSHOT_INTERVAL_MS', 500, { min: 50, max: 60_000 }),
    snapshotBytesPerSec: envInt(env, 'AGG_SNAPSHOT_BYTES_PER_SEC', 8 * 1024 * 1024, { min: 1024 }),
    snapshotChunkBytes: envInt(env, 'AGG_SNAPSHOT_CHUNK_BYTES', SNAPSHOT_CHUNK_BYTES, { min: 1024, max: 15 * 1024 * 1024 }),
    maxFutureSkewSeconds: envInt(env, 'AGG_MAX_FUTURE_SKEW_SECONDS', 60, { min: 0, max: 86_400 }),
    topKCapacity: envInt(env, 'AGG_TOPK_CAPACITY', 100, { min: 10, max: 100_000 }),
    windowEventsMetrics: envInt(env, 'AGG_WINDOW_EVENTS_METRICS', 20, { min: 0, max: 1_000 }),
    groupId,
  };
}

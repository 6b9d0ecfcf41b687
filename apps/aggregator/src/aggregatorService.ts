import { Counter, Gauge, Histogram } from 'prom-client';
import { EVENT_TOPICS, EventRecordReader, INTERNAL_TOPICS, PRINCIPAL_HEADER, type EventRecord } from '@pipeline/contracts';
import { AGGREGATED_FIELDS, EventTimeWatermark, StreamingAggregator, foldEvent } from '@pipeline/aggregation';
import { ExactlyOnceState, type LivePartition } from '@pipeline/live-state';
import type { IncomingMessage, Subscription } from '@pipeline/kafka';
import { startCountersAtZero, type ServiceFactory } from '@pipeline/service-runtime';
import type { AggregatorConfig } from './config';

/**
 * Consumes the six event topics in one consumer group (replicas split the partitions) and keeps
 * one StreamingAggregator per input partition; the exactly-once state protocol (restore, skip,
 * seek-back, per-series rounds, commit after the round) is `ExactlyOnceState` in
 * `@pipeline/live-state`. This file wires it: Kafka in, events folded, rounds on a timer, metrics.
 *
 * Every `snapshotIntervalMs` each changed partition writes the series that changed to the compacted
 * `pipeline.aggregator.snapshots` topic, then its marker with the offset it has consumed up to, and
 * only then is that offset committed. Late detection uses the partition's event-time watermark, not
 * the wall clock, so a replay reaches the same state. An event stamped more than
 * AGG_MAX_FUTURE_SKEW_SECONDS ahead of this replica's clock never moves the watermark and is folded
 * into nothing; it is counted (the metric's `future_events`, `..._future_events_total`).
 *
 * A partition with no state yet starts at the first message of the last window (by record
 * timestamp, which ingest sets to the event time); older history is skipped.
 *
 * Each record is read with `EventRecordReader`: only the payload fields aggregation reads are checked
 * (ingest dead-letters whatever else the contract refuses), and the event time is the record
 * timestamp whenever the envelope's `timestamp` is absent or says the same. A record that fails is
 * counted in pipeline_aggregator_invalid_events_total and skipped.
 */
export const createAggregator: ServiceFactory<AggregatorConfig> = ({ config, bus, metrics, logger }) => {
  const r = [metrics.registry];
  const activeSeries = new Gauge({ name: 'pipeline_aggregator_active_series', help: 'Live metric series held by this replica', registers: r });
  const expirations = new Counter({ name: 'pipeline_aggregator_window_expirations_total', help: '1 s buckets that left their window', registers: r });
  const late = new Counter({ name: 'pipeline_aggregator_late_events_total', help: 'Metric events older than their window (counted, not aggregated)', registers: r });
  const future = new Counter({ name: 'pipeline_aggregator_future_events_total', help: 'Events stamped more than AGG_MAX_FUTURE_SKEW_SECONDS ahead of the clock (counted, not aggregated; the watermark does not move)', labelNames: ['topic'], registers: r });
  const refused = new Counter({ name: 'pipeline_aggregator_refused_events_total', help: 'Metric events refused because the live-series cap was reached', registers: r });
  const processed = new Counter({ name: 'pipeline_aggregator_events_processed_total', help: 'Events folded into the aggregates', labelNames: ['topic'], registers: r });
  const invalid = new Counter({ name: 'pipeline_aggregator_invalid_events_total', help: 'Messages skipped because they fail validation (ingest dead-letters them)', labelNames: ['topic'], registers: r });
  for (const counter of [future, processed, invalid]) startCountersAtZero(counter, { topic: EVENT_TOPICS });
  metrics.expectTopics({ published: [INTERNAL_TOPICS.aggregatorSnapshots], consumed: [...EVENT_TOPICS, INTERNAL_TOPICS.aggregatorSnapshots] });
  const snapshotBytes = new Gauge({ name: 'pipeline_aggregator_snapshot_bytes', help: 'Bytes written by the last snapshot round (changed series, deletions, markers)', registers: r });
  const partitionSnapshots = new Counter({ name: 'pipeline_aggregator_partition_snapshots_total', help: 'Partition rounds committed (marker acknowledged by Kafka)', registers: r });
  const snapshotSeries = new Counter({ name: 'pipeline_aggregator_snapshot_series_total', help: 'Series entries written (changed series and deletion records)', registers: r });
  const snapshotChunkMessages = new Counter({ name: 'pipeline_aggregator_snapshot_chunks_total', help: 'Produce requests of the snapshot rounds (entries go in requests of at most AGG_SNAPSHOT_CHUNK_BYTES, the marker alone)', registers: r });
  const snapshotChunks = new Gauge({ name: 'pipeline_aggregator_snapshot_max_chunks', help: 'Most produce requests one partition round took in the last round', registers: r });
  const fenced = new Counter({
    name: 'pipeline_aggregator_fenced_rounds_total',
    help: 'Fencing after rebalances: stale_write = a write of a replica that no longer owned the partition, seen by its owner (ignored by readers, the key rewritten by the next round); superseded = a partition this replica dropped because a later owner claimed it',
    labelNames: ['kind'],
    registers: r,
  });
  startCountersAtZero(fenced, { kind: ['stale_write', 'superseded'] });
  // Filled at each scrape.
  new Gauge({
    name: 'pipeline_aggregator_metric_events_in_window',
    help: 'Late and future events of a metric that arrived in its window (as a stats answer\'s completeness.*_in_window), for the AGG_WINDOW_EVENTS_METRICS metrics of this replica with the most; sum by (metric, kind) across replicas',
    labelNames: ['metric', 'kind'],
    registers: r,
    collect() {
      this.reset();
      const counts = new Map<string, { late: number; future: number }>();
      const now = Date.now();
      for (const p of state.partitions()) {
        for (const { metric, late, future } of p.agg.arrivalsInWindow(now)) {
          const c = counts.get(metric);
          if (c === undefined) counts.set(metric, { late, future });
          else {
            c.late += late;
            c.future += future;
          }
        }
      }
      const top = [...counts].sort(([a, x], [b, y]) => y.late + y.future - (x.late + x.future) || (a < b ? -1 : a > b ? 1 : 0)).slice(0, config.windowEventsMetrics);
      for (const [metric, c] of top) {
        this.set({ metric, kind: 'late' }, c.late);
        this.set({ metric, kind: 'future' }, c.future);
      }
    },
  });
  const snapshotSeconds = new Histogram({ name: 'pipeline_aggregator_snapshot_duration_seconds', help: 'Serialize + publish + commit of one snapshot round', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: r });

  let seriesPerPartition = config.maxSeries;
  const windowsSeenExpired = new WeakMap<LivePartition, number>();
  const state = new ExactlyOnceState({
    bus,
    topic: INTERNAL_TOPICS.aggregatorSnapshots,
    group: config.groupId,
    publishBytes: config.snapshotChunkBytes,
    logger,
    onFenced: (e) => fenced.inc({ kind: e.kind }),
    createAggregator: () =>
      new StreamingAggregator({
        windowSeconds: config.windowSeconds,
        windowOverrides: config.windowOverrides,
        rateWindowSeconds: config.rateWindowSeconds,
        maxSeries: seriesPerPartition,
        topKCapacity: config.topKCapacity,
        coarseBucketSeconds: config.coarseBucketSeconds,
      }),
    createWatermark: (initialMs) => new EventTimeWatermark({ maxFutureSkewMs: config.maxFutureSkewSeconds * 1000, initialMs }),
    historyHorizonMs: () => Date.now() - 1000 * Math.max(config.windowSeconds, config.rateWindowSeconds, ...config.windowOverrides.values()),
    beforeRound: (p) => {
      p.agg.expire(p.watermark.ms);
      const exp = p.agg.counters().windowExpirations;
      const seen = windowsSeenExpired.get(p) ?? exp; // a restored partition's past expirations were counted by its earlier owner
      if (exp > seen) expirations.inc(exp - seen);
      windowsSeenExpired.set(p, exp);
    },
  });

  let sub: Subscription | undefined;
  let timer: NodeJS.Timeout | undefined;
  let snapshotting: Promise<void> | undefined;
  let nextRoundAt = 0;

  /** Checks only what aggregation reads (AGGREGATED_FIELDS); the full contract is checked where events enter (gateway, ingest). */
  const reader = new EventRecordReader(AGGREGATED_FIELDS);
  const record: EventRecord = { eventTimeMs: 0, payload: {} };

  /** Folds one message into its partition's state; false when it is not a valid event (counted, skipped). */
  function fold(p: LivePartition, m: IncomingMessage, now: number): boolean {
    if (reader.read(m.value, m.topic, m.timestampMs, record) !== undefined) {
      invalid.inc({ topic: m.topic });
      return false;
    }
    // The producer's principal (set by the gateway and ingest), recorded on the series the event creates; bounded, as anyone writing the topic can set it.
    const principal = m.headers[PRINCIPAL_HEADER];
    const outcome = foldEvent(p.agg, m.topic, record.payload, record.eventTimeMs, p.watermark, now, principal !== undefined && principal.length <= 128 ? principal : undefined);
    if (outcome === 'future') future.inc({ topic: m.topic });
    else if (outcome === 'late') late.inc();
    else if (outcome === 'refused') refused.inc();
    return true;
  }

  /** One round of the protocol, with its metrics; the next waits until the bytes written fit the bandwidth budget. */
  async function snapshotRound(): Promise<void> {
    const started = process.hrtime.bigint();
    let series = 0;
    for (const p of state.partitions()) series += p.agg.counters().activeSeries;
    activeSeries.set(series);
    const report = await state.round();
    if (report.failed !== undefined) logger.warn({ err: (report.failed as Error).message }, 'snapshot of some partitions failed; will retry');
    if (report.commitFailed !== undefined) logger.warn({ err: (report.commitFailed as Error).message }, 'offset commit after a snapshot round failed; the next round commits again');
    partitionSnapshots.inc(report.partitions);
    snapshotSeries.inc(report.series);
    snapshotChunkMessages.inc(report.publishes);
    if (report.partitions === 0) return;
    nextRoundAt = Date.now() + (1000 * report.bytes) / config.snapshotBytesPerSec;
    snapshotBytes.set(report.bytes);
    snapshotChunks.set(report.maxPublishes);
    snapshotSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
  }

  const tick = () => {
    if (snapshotting || Date.now() < nextRoundAt) return;
    snapshotting = snapshotRound().finally(() => (snapshotting = undefined));
  };

  return {
    readiness: [{ name: 'snapshots_restored', check: async () => sub !== undefined }],
    async start() {
      // Both before the first batch (a restore builds aggregators with the per-partition cap); neither needs the other.
      const [metricPartitions] = await Promise.all([bus.partitionsFor('events.metrics').then((p) => p.length), state.start()]);
      seriesPerPartition = Math.max(1, Math.ceil(config.maxSeries / metricPartitions));
      logger.info({ partitions: state.knownPartitions, seriesPerPartition }, 'state topic loaded');
      sub = await bus.subscribe({
        groupId: config.groupId,
        topics: EVENT_TOPICS,
        fromBeginning: true,
        commit: 'manual',
        handler: async (batch) => {
          const now = Date.now();
          let folded = 0;
          await state.handle(batch, (p, m) => {
            if (fold(p, m, now)) folded++;
          });
          processed.inc({ topic: batch.topic }, folded);
        },
        onAssignment: (assigned) => {
          state.onAssignment(assigned); // the new owner restores the others
          logger.info({ partitions: assigned.length }, 'partitions assigned');
        },
      });
      state.attach(sub);
      timer = setInterval(tick, config.snapshotIntervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await snapshotting;
      await snapshotRound(); // last snapshot + commit for whatever was folded since
      await sub?.stop();
      await state.stop();
    },
  };
};

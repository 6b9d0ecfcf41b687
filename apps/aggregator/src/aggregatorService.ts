import { Counter, Gauge, Histogram } from 'prom-client';
import { ContractError, EVENT_TOPICS, INTERNAL_TOPICS, parseEnvelope } from '@pipeline/contracts';
import {
  EventTimeWatermark,
  SnapshotAssembler,
  StreamingAggregator,
  encodeSnapshotChunks,
  partitionSnapshotHeader,
  foldEvent,
  snapshotKey,
  type ChunkSet,
  type PartitionSnapshot,
} from '@pipeline/aggregation';
import { CompactedTopicView, type MessageBatch, type Subscription, type TopicPartitionOffset } from '@pipeline/kafka';
import { startHeapTrimmer, type ServiceFactory } from '@pipeline/service-runtime';
import type { AggregatorConfig } from './config';

interface PartitionState {
  topic: string;
  partition: number;
  agg: StreamingAggregator;
  /** Every message below this offset is folded into `agg`. */
  nextOffset: bigint;
  /** Highest event time seen, future-stamped events excluded: the clock for late detection. */
  watermark: EventTimeWatermark;
  dirty: boolean;
  windowExpirationsSeen: number;
  /** Chunk set the next round writes: never the one holding the last complete round. */
  chunkSet: ChunkSet;
  /** Chunks each set held after its last round written by this process (for tombstones). */
  chunkCounts: [number, number];
}

/**
 * Consumes the six event topics in one consumer group (replicas split the partitions) and keeps
 * one StreamingAggregator per input partition.
 *
 * Exactly-once state without transactions: every `snapshotIntervalMs` each changed partition's
 * state is published to the compacted `pipeline.aggregator.snapshots` topic together with the
 * offset it has consumed up to (`nextOffset`), and only after Kafka acknowledged the snapshot is
 * that offset committed. A snapshot travels as 1 MiB chunks in one of two alternating chunk sets
 * (see `encodeSnapshotChunks`), so states of any size fit Kafka's message limits and a round cut
 * short by a crash never damages the previous complete one. On (re)assignment a partition's state is restored from the most advanced
 * snapshot; messages below its `nextOffset` are skipped, and if the consumer starts above it (a
 * commit newer than the snapshot this replica has seen), the consumer is moved back to it. So a
 * crash (even SIGKILL) or a rebalance replays exactly the messages the restored state has not
 * folded in: nothing is lost and nothing is counted twice. Late detection uses the partition's
 * event-time watermark, not the wall clock, so a replay reaches the same state. An event stamped more
 * than AGG_MAX_FUTURE_SKEW_SECONDS ahead of this replica's clock never moves the watermark and is
 * folded into nothing; it is counted (the metric's `future_events`, `..._future_events_total`).
 *
 * A partition with no snapshot yet starts at the first message of the last window (by record
 * timestamp, which ingest sets to the event time); older history is skipped.
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
  const snapshotBytes = new Gauge({ name: 'pipeline_aggregator_snapshot_bytes', help: 'Size of the last snapshot round', registers: r });
  const partitionSnapshots = new Counter({ name: 'pipeline_aggregator_partition_snapshots_total', help: 'Partition snapshots written (acknowledged by Kafka)', registers: r });
  const snapshotChunkMessages = new Counter({ name: 'pipeline_aggregator_snapshot_chunks_total', help: 'Chunk messages of the partition snapshots written (more than one per snapshot when a state exceeds AGG_SNAPSHOT_CHUNK_BYTES)', registers: r });
  const snapshotChunks = new Gauge({ name: 'pipeline_aggregator_snapshot_max_chunks', help: 'Most chunks one partition snapshot took in the last round (1 unless a state exceeds AGG_SNAPSHOT_CHUNK_BYTES)', registers: r });
  const heapTrimSeconds = new Histogram({ name: 'pipeline_aggregator_heap_trim_seconds', help: 'Event-loop pause of each memory-reducing GC (AGG_HEAP_TRIM_INTERVAL_MS)', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1], registers: r });
  const snapshotSeconds = new Histogram({ name: 'pipeline_aggregator_snapshot_duration_seconds', help: 'Serialize + publish + commit of one snapshot round', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: r });

  const states = new Map<string, PartitionState>();
  const onSnapshotError = (err: unknown, key: string) => logger.warn({ err, key }, 'ignoring undecodable snapshot');
  /** Reads the snapshot topic into an assembler. */
  const snapshotView = (assembler: SnapshotAssembler, groupPrefix: string) =>
    CompactedTopicView.forwarding(bus, { topic: INTERNAL_TOPICS.aggregatorSnapshots, groupPrefix, onMessage: (key, value) => assembler.add(key, value) });
  // Payloads are held only for partitions this replica does not own (it may be assigned them);
  // for its own it tracks the rounds, not copies of the state it holds live.
  const snapshots = new SnapshotAssembler(config.groupId, onSnapshotError, { retain: (key) => !states.has(key) });
  const view = snapshotView(snapshots, 'pipeline-aggregator-restore');

  /** A snapshot whose payload was not kept (the partition was ours then): read the topic once more for it. */
  async function fetchSnapshot(key: string): Promise<PartitionSnapshot> {
    const one = new SnapshotAssembler(config.groupId, onSnapshotError, { retain: (k) => k === key });
    const reader = snapshotView(one, 'pipeline-aggregator-fetch');
    await reader.start();
    try {
      await reader.catchUp(60_000);
    } finally {
      await reader.stop();
    }
    const snap = one.get(key);
    // Never start empty over a state that exists: the batch fails and is redelivered.
    if (!snap) throw new Error(`snapshot ${key} (round ${snapshots.known(key)?.nextOffset}) could not be read back from ${INTERNAL_TOPICS.aggregatorSnapshots}`);
    logger.info({ key, nextOffset: snap.nextOffset.toString() }, 'snapshot read back for a partition owned earlier');
    return snap;
  }
  let sub: Subscription | undefined;
  let timer: NodeJS.Timeout | undefined;
  let trimmer: { stop(): void } | undefined;
  let seriesPerPartition = config.maxSeries;
  let snapshotting: Promise<void> | undefined;
  let nextRoundAt = 0;

  const newAggregator = () =>
    new StreamingAggregator({
      windowSeconds: config.windowSeconds,
      windowOverrides: config.windowOverrides,
      rateWindowSeconds: config.rateWindowSeconds,
      maxSeries: seriesPerPartition,
      topKCapacity: config.topKCapacity,
      coarseBucketSeconds: config.coarseBucketSeconds,
    });

  const newWatermark = (initialMs: number) => new EventTimeWatermark({ maxFutureSkewMs: config.maxFutureSkewSeconds * 1000, initialMs });

  async function restore(topic: string, partition: number, firstOffset: bigint): Promise<PartitionState> {
    const key = snapshotKey(config.groupId, topic, partition);
    const round = snapshots.known(key);
    const chunkSet: ChunkSet = round?.set === 0 ? 1 : 0;
    const snap = snapshots.get(key) ?? (round ? await fetchSnapshot(key) : undefined);
    if (snap) {
      const agg = StreamingAggregator.deserialize(snap.state);
      return { topic, partition, agg, nextOffset: snap.nextOffset, watermark: newWatermark(snap.watermarkMs), dirty: false, windowExpirationsSeen: agg.counters().windowExpirations, chunkSet, chunkCounts: [0, 0] };
    }
    // No snapshot: nothing of this partition has been aggregated yet; start where the consumer is.
    return { topic, partition, agg: newAggregator(), nextOffset: firstOffset, watermark: newWatermark(0), dirty: false, windowExpirationsSeen: 0, chunkSet, chunkCounts: [0, 0] };
  }

  async function handle(batch: MessageBatch): Promise<void> {
    const key = snapshotKey(config.groupId, batch.topic, batch.partition);
    const first = BigInt(batch.messages[0]!.offset);
    let st = states.get(key);
    if (!st) {
      st = await restore(batch.topic, batch.partition, first);
      if (first > st.nextOffset) {
        // Our view may lag a snapshot another replica just wrote; read up to the end once.
        await view.catchUp(30_000);
        st = await restore(batch.topic, batch.partition, first);
      }
      if (!snapshots.known(key)) {
        // A partition never aggregated before: skip history older than the longest window (it
        // could only ever count as expired), so a new deployment is live in seconds, not after
        // re-reading days of retention.
        const horizon = Date.now() - 1000 * Math.max(config.windowSeconds, config.rateWindowSeconds, ...config.windowOverrides.values());
        const start = (await bus.offsetsForTime(batch.topic, horizon)).get(batch.partition) ?? first;
        if (start > first) {
          st.nextOffset = start;
          logger.info({ key, from: first.toString(), to: start.toString() }, 'new partition: skipping history older than the window');
        }
      }
      states.set(key, st);
      snapshots.release(key); // live from here on: no copy of it is kept
      logger.info({ topic: batch.topic, partition: batch.partition, nextOffset: st.nextOffset.toString(), firstOffset: first.toString() }, 'partition state restored');
    }
    if (first > st.nextOffset) {
      logger.info({ key, from: first.toString(), to: st.nextOffset.toString() }, 'consumer is ahead of the restored state; seeking back');
      sub!.seek({ topic: batch.topic, partition: batch.partition, offset: st.nextOffset.toString() });
      return;
    }
    if (BigInt(batch.messages[batch.messages.length - 1]!.offset) < st.nextOffset && first < st.nextOffset - 10_000n) {
      // Far behind the state (e.g. skipping history): jump instead of reading every message.
      sub!.seek({ topic: batch.topic, partition: batch.partition, offset: st.nextOffset.toString() });
      return;
    }
    const now = Date.now();
    let folded = 0;
    for (const m of batch.messages) {
      const offset = BigInt(m.offset);
      if (offset < st.nextOffset) continue; // already in the restored snapshot
      st.nextOffset = offset + 1n;
      let eventTimeMs: number;
      let event;
      try {
        event = parseEnvelope(m.value, m.topic, { nowMs: m.timestampMs, defaultSource: 'kafka' });
        eventTimeMs = Date.parse(event.timestamp);
      } catch (e) {
        if (!(e instanceof ContractError)) throw e;
        invalid.inc({ topic: m.topic });
        continue;
      }
      const outcome = foldEvent(st.agg, event, eventTimeMs, st.watermark, now);
      if (outcome === 'future') future.inc({ topic: m.topic });
      else if (outcome === 'late') late.inc();
      else if (outcome === 'refused') refused.inc();
      folded++;
    }
    st.dirty = true;
    processed.inc({ topic: batch.topic }, folded);
  }

  /**
   * One round: each changed partition's state is serialized, chunked and published in turn (so
   * only one partition's buffers exist at a time: a round of 10,000 busy series is ~40 MB), then
   * the offsets of those Kafka acknowledged are committed.
   */
  async function snapshotRound(): Promise<void> {
    const started = process.hrtime.bigint();
    const offsets: TopicPartitionOffset[] = [];
    let bytes = 0;
    let maxChunks = 0;
    let series = 0;
    let failed: unknown;
    for (const st of states.values()) series += st.agg.counters().activeSeries;
    activeSeries.set(series);
    for (const st of [...states.values()]) {
      if (!st.dirty) continue;
      st.agg.expire(st.watermark.ms);
      const exp = st.agg.counters().windowExpirations;
      if (exp > st.windowExpirationsSeen) expirations.inc(exp - st.windowExpirationsSeen);
      st.windowExpirationsSeen = exp;
      const nextOffset = st.nextOffset;
      const state = st.agg.serialize();
      const header = partitionSnapshotHeader({ nextOffset, watermarkMs: st.watermark.ms, producedAtMs: Date.now() });
      const chunks = encodeSnapshotChunks(snapshotKey(config.groupId, st.topic, st.partition), [header, state], nextOffset, st.chunkSet, {
        previousCount: st.chunkCounts[st.chunkSet],
        chunkBytes: config.snapshotChunkBytes,
      });
      st.dirty = false;
      try {
        await bus.publishBatch(chunks.map((c) => ({ topic: INTERNAL_TOPICS.aggregatorSnapshots, key: c.key, value: c.value })));
      } catch (err) {
        st.dirty = true; // retried next round (same chunk set); the replay is still exact
        failed = err;
        continue;
      }
      // This round is complete in its set: the next one writes the other set.
      const written = chunks.filter((c) => c.value.length > 0).length;
      partitionSnapshots.inc();
      snapshotChunkMessages.inc(written);
      st.chunkCounts[st.chunkSet] = written;
      st.chunkSet = st.chunkSet === 0 ? 1 : 0;
      offsets.push({ topic: st.topic, partition: st.partition, offset: nextOffset.toString() });
      bytes += header.length + state.length;
      maxChunks = Math.max(maxChunks, written);
    }
    if (failed !== undefined) logger.warn({ err: (failed as Error).message }, 'snapshot of some partitions failed; will retry');
    if (offsets.length === 0) return;
    try {
      await sub?.commit(offsets); // only after the snapshot is stored: committed offset ≤ snapshot offset
    } catch (err) {
      // The snapshots are stored; a restart replays from the older commit up to them, exactly.
      logger.warn({ err: (err as Error).message }, 'offset commit after a snapshot round failed; the next round commits again');
      for (const o of offsets) {
        const st = states.get(snapshotKey(config.groupId, o.topic, o.partition));
        if (st) st.dirty = true;
      }
    }
    nextRoundAt = Date.now() + (1000 * bytes) / config.snapshotBytesPerSec;
    snapshotBytes.set(bytes);
    snapshotChunks.set(maxChunks);
    snapshotSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
  }

  const tick = () => {
    if (snapshotting || Date.now() < nextRoundAt) return;
    snapshotting = snapshotRound().finally(() => (snapshotting = undefined));
  };

  return {
    readiness: [{ name: 'snapshots_restored', check: async () => sub !== undefined }],
    async start() {
      const metricPartitions = (await bus.partitionsFor('events.metrics')).length;
      seriesPerPartition = Math.max(1, Math.ceil(config.maxSeries / metricPartitions));
      await view.start();
      await view.catchUp(60_000);
      logger.info({ snapshots: snapshots.size, seriesPerPartition }, 'snapshot view loaded');
      sub = await bus.subscribe({
        groupId: config.groupId,
        topics: EVENT_TOPICS,
        fromBeginning: true,
        commit: 'manual',
        handler: handle,
        onAssignment: (assigned) => {
          const keep = new Set(assigned.map((a) => snapshotKey(config.groupId, a.topic, a.partition)));
          for (const key of [...states.keys()]) if (!keep.has(key)) states.delete(key); // the new owner restores it
          logger.info({ partitions: assigned.length }, 'partitions assigned');
        },
      });
      timer = setInterval(tick, config.snapshotIntervalMs);
      timer.unref();
      if (config.heapTrimIntervalMs > 0) trimmer = startHeapTrimmer({ intervalMs: config.heapTrimIntervalMs, onTrim: (t) => heapTrimSeconds.observe(t.seconds) });
    },
    async stop() {
      if (timer) clearInterval(timer);
      trimmer?.stop();
      await snapshotting;
      await snapshotRound(); // last snapshot + commit for whatever was folded since
      await sub?.stop();
      await view.stop();
    },
  };
};

import type { Consumer, fetchV17 } from '@platformatic/kafka';
import type { BusObserver, MessageBatch, SubscribeOptions, Subscription, TopicPartition, TopicPartitionOffset } from './EventBus';
import type { BusLogger } from './KafkaJsBus';
import { BusError, toBusError } from './errors';
import { recordsToMessages, toRawHeader, type RawHeader } from './recordsToMessages';

export interface PlatformaticGroupMemberOptions {
  /** A consumer of the group, not yet joined; this member owns it and closes it on stop. */
  consumer: Consumer;
  subscription: SubscribeOptions;
  /**
   * Read exactly these partitions without a consumer group (EventBus.follow): the consumer never
   * joins `subscription.groupId` (which then only labels metrics and logs), nothing is committed,
   * and positions start at the earliest or latest offset per `fromBeginning`.
   */
  assignment?: readonly TopicPartition[];
  /** How long a fetch with nothing to return waits at the broker (ms). */
  maxWaitTimeMs: number;
  /** Bounds of one fetch: bytes per partition, and of the whole response (the broker fills partitions in request order; the order turns at every fetch). */
  maxBytesPerPartition: number;
  maxBytesPerFetch: number;
  /** Batches of different partitions handled at the same time (kafkajs's partitionsConsumedConcurrently). */
  partitionsConcurrently: number;
  observer?: BusObserver;
  logger?: BusLogger;
}

const LATEST = -1n;
const EARLIEST = -2n;
/** Kafka's OFFSET_OUT_OF_RANGE error code. */
const OFFSET_OUT_OF_RANGE = 1;
/** Long handlers need nothing: @platformatic/kafka heartbeats on its own timer, whatever the handler does. */
const heartbeat = async (): Promise<void> => undefined;

const keyOf = (topic: string, partition: number) => `${topic}:${partition}`;

/** One partition's part of a fetch response, decoded, with the offset it was fetched from. */
interface FetchedPartition {
  key: string;
  from: bigint;
  /** Where the partition goes on once this part is handled: past its last record, or past batches with nothing to deliver. */
  next: bigint;
  /** Its records (a batch of skipped records only has no messages); absent when there were none. */
  batch?: { batch: MessageBatch; last: bigint; skipped: number };
  /** The broker no longer has `from` (deleted by retention). */
  outOfRange?: boolean;
}
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * One member of a consumer group on @platformatic/kafka, with the port's batch semantics (those of
 * kafkajs's eachBatch): the library keeps the membership (join, heartbeats on a timer, rejoin on
 * rebalance); this class fetches, hands each partition's part of a fetch response to the handler
 * as one batch, and moves its own position on that partition only after the handler resolved.
 * - A handler that throws leaves the position where it was: the same batch comes again.
 * - `seek` from a handler sets the position; the batch being handled is then not committed.
 * - After every (re)assignment positions restart from the group's committed offsets (or the
 *   earliest/latest offset when the group has none, per `fromBeginning`), as in kafkajs; a fetch
 *   or handler that was under way for the previous assignment moves nothing.
 * With `assignment` it is a reader of fixed partitions outside any group (no join, no commits).
 * - The next fetch is sent while a fetch's batches are handled, from the positions the partitions
 *   will have once their handlers succeeded, so the broker's round trip and the decoding overlap
 *   the handlers; what it brings for a partition that is elsewhere by then (its handler failed or
 *   sought) is dropped and fetched again from the position.
 * The library's MessagesStream is not used: it prefetches without a way to drop records that a
 * redelivery or a seek made stale, and has no seek.
 */
export class PlatformaticGroupMember implements Subscription {
  private readonly consumer: Consumer;
  private readonly topics: string[];
  private assigned: TopicPartition[] = [];
  /** Next offset to fetch, per `topic:partition` of the current assignment. */
  private readonly positions = new Map<string, bigint>();
  /** Partitions to restart at earliest/latest rather than the committed offset (it was out of range). */
  private readonly resetToDefault = new Set<string>();
  private readonly handling = new Set<string>();
  private readonly seeked = new Set<string>();
  /** Bumped at every (re)assignment; work begun under an older one changes nothing. */
  private generation = 0;
  private running = true;
  private loop: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly skip: RawHeader | undefined;
  /** Where the next fetch starts in the assignment, so partitions late in it are not always served last. */
  private fetchRotation = 0;

  constructor(private readonly opts: PlatformaticGroupMemberOptions) {
    this.consumer = opts.consumer;
    this.topics = [...opts.subscription.topics];
    this.skip = toRawHeader(opts.subscription.skipHeader);
  }

  /** Joins the group (resolves once this member has its first assignment) and starts fetching. */
  async start(): Promise<void> {
    const { consumer, opts } = this;
    consumer.on('error', (err: Error) => opts.logger?.error({ err: toBusError(err).message, groupId: consumer.groupId }, 'Kafka consumer error'));
    consumer.on('consumer:heartbeat:error', ({ error }) => opts.logger?.warn({ err: toBusError(error).message, groupId: consumer.groupId }, 'Kafka heartbeat failed'));
    consumer.topics.trackAll(...this.topics);
    if (opts.assignment) {
      this.onAssignment(opts.assignment.map(({ topic, partition }) => ({ topic, partitions: [partition] })));
      this.loop = this.run();
      return;
    }
    consumer.on('consumer:group:join', ({ assignments }) => this.onAssignment(assignments ?? []));
    try {
      await consumer.joinGroup();
    } catch (e) {
      await consumer.close(true).catch(() => undefined);
      throw toBusError(e);
    }
    this.loop = this.run();
  }

  assignments(): TopicPartition[] {
    return this.assigned;
  }

  seek(target: TopicPartitionOffset): void {
    const key = keyOf(target.topic, target.partition);
    this.positions.set(key, BigInt(target.offset));
    if (this.handling.has(key)) this.seeked.add(key);
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    if (this.opts.assignment) throw new BusError('a reader outside any consumer group has no offsets to commit', false);
    try {
      await this.consumer.commit({ offsets: offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: BigInt(o.offset), leaderEpoch: -1 })) });
    } catch (e) {
      throw toBusError(e);
    }
  }

  /** Lets the batches being handled finish (and commit), leaves the group, closes the consumer. */
  async stop(): Promise<void> {
    if (!this.running) return this.loop;
    this.running = false;
    this.wake?.();
    await Promise.allSettled([...this.inFlight]);
    await this.consumer.close(true).catch((err) => this.opts.logger?.warn({ err: toBusError(err).message }, 'closing the Kafka consumer failed'));
    await this.loop;
  }

  private onAssignment(assignments: readonly { topic: string; partitions: number[] }[]): void {
    this.generation++;
    this.assigned = assignments.flatMap(({ topic, partitions }) => partitions.map((partition) => ({ topic, partition })));
    this.positions.clear();
    this.resetToDefault.clear();
    this.seeked.clear();
    this.wake?.();
    const onAssignment = this.opts.subscription.onAssignment;
    if (onAssignment) void Promise.resolve(onAssignment(this.assigned)).catch((err) => this.opts.logger?.error({ err }, 'onAssignment failed'));
  }

  private async run(): Promise<void> {
    let failures = 0;
    /** The fetch sent while the previous one's batches were handled. */
    let ahead: { generation: number; parts: Promise<FetchedPartition[]> } | undefined;
    while (this.running) {
      const generation = this.generation;
      if (this.assigned.length === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, 1_000);
        });
        continue;
      }
      try {
        await this.fillPositions(generation);
        if (generation !== this.generation) continue;
        const parts = ahead?.generation === generation ? await ahead.parts : await this.fetchAll(this.positions);
        ahead = undefined;
        if (generation !== this.generation || !this.running) continue;
        // The next fetch goes out now, while these batches are handled, from where each partition
        // will be once its handler succeeded; deliver drops what it brings for a partition that is
        // elsewhere by then (its handler failed or sought), so that partition is fetched again.
        const expected = new Map(this.positions);
        for (const p of parts) if (this.positions.get(p.key) === p.from) expected.set(p.key, p.next);
        const next = this.fetchAll(expected);
        next.catch(() => undefined); // awaited (and its failure handled) by the next turn, if any
        ahead = { generation, parts: next };
        const handlerFailed = await this.deliver(generation, parts);
        failures = 0;
        // A failing handler gets its batch again, but not in a tight loop.
        if (handlerFailed) await sleep(200);
      } catch (e) {
        ahead = undefined;
        if (!this.running) break;
        failures++;
        this.opts.logger?.warn({ err: toBusError(e).message, groupId: this.consumer.groupId, attempt: failures }, 'Kafka fetch failed; retrying');
        this.consumer.clearMetadata();
        await sleep(Math.min(5_000, 100 * 2 ** failures));
      }
    }
  }

  /** Positions of newly assigned partitions: the committed offset, else earliest/latest. */
  private async fillPositions(generation: number): Promise<void> {
    const missing = this.assigned.filter((tp) => !this.positions.has(keyOf(tp.topic, tp.partition)));
    if (missing.length === 0) return;
    const byTopic = new Map<string, number[]>();
    for (const { topic, partition } of missing) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
    const committed = this.opts.assignment ? new Map<string, bigint[]>() : await this.consumer.listCommittedOffsets({ topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) });
    const fallback = new Map<string, number[]>();
    const found = new Map<string, bigint>();
    for (const { topic, partition } of missing) {
      const key = keyOf(topic, partition);
      const offset = committed.get(topic)?.[partition];
      if (offset !== undefined && offset >= 0n && !this.resetToDefault.has(key)) found.set(key, offset);
      else fallback.set(topic, [...(fallback.get(topic) ?? []), partition]);
    }
    if (fallback.size > 0) {
      const ends = await this.consumer.listOffsets({
        topics: [...fallback.keys()],
        partitions: Object.fromEntries(fallback),
        timestamp: this.opts.subscription.fromBeginning ? EARLIEST : LATEST,
      });
      for (const [topic, partitions] of fallback) for (const p of partitions) found.set(keyOf(topic, p), ends.get(topic)![p]!);
    }
    if (generation !== this.generation) return;
    for (const [key, offset] of found) {
      this.positions.set(key, offset);
      this.resetToDefault.delete(key);
    }
  }

  /** One fetch per broker leading assigned partitions, from `positions`, decoded. */
  private async fetchAll(positions: ReadonlyMap<string, bigint>): Promise<FetchedPartition[]> {
    const metadata = await this.consumer.metadata({ topics: this.topics });
    const requests = new Map<number, Map<string, fetchV17.FetchRequestTopic>>();
    const topicNames = new Map<string, string>();
    const start = this.fetchRotation++ % this.assigned.length;
    for (const { topic, partition } of [...this.assigned.slice(start), ...this.assigned.slice(0, start)]) {
      const fetchOffset = positions.get(keyOf(topic, partition));
      const topicMeta = metadata.topics.get(topic);
      if (fetchOffset === undefined || !topicMeta) continue;
      const leader = topicMeta.partitions[partition]?.leader ?? -1;
      let byTopic = requests.get(leader);
      if (!byTopic) requests.set(leader, (byTopic = new Map()));
      let request = byTopic.get(topicMeta.id);
      if (!request) byTopic.set(topicMeta.id, (request = { topicId: topicMeta.id, partitions: [] }));
      topicNames.set(topicMeta.id, topic);
      request.partitions.push({ partition, fetchOffset, partitionMaxBytes: this.opts.maxBytesPerPartition, currentLeaderEpoch: -1, lastFetchedEpoch: -1 });
    }
    const results = await Promise.all([...requests].map(([node, byTopic]) => this.fetchFrom(node, [...byTopic.values()], topicNames, positions)));
    return results.flat();
  }

  private async fetchFrom(node: number, topics: fetchV17.FetchRequestTopic[], topicNames: Map<string, string>, positions: ReadonlyMap<string, bigint>): Promise<FetchedPartition[]> {
    let response: fetchV17.FetchResponse;
    let partial = false;
    try {
      response = await this.consumer.fetch({ node, topics, maxWaitTime: this.opts.subscription.fetchMaxWaitMs ?? this.opts.maxWaitTimeMs, maxBytes: this.opts.maxBytesPerFetch });
    } catch (e) {
      const failed = (e as { response?: fetchV17.FetchResponse }).response;
      if (!failed?.responses.some((t) => t.partitions.some((p) => p.errorCode === OFFSET_OUT_OF_RANGE))) throw e;
      // Only the out-of-range partitions are taken from a failed fetch; the others are fetched again.
      response = failed;
      partial = true;
    }
    const parts: FetchedPartition[] = [];
    for (const t of response.responses) {
      const topic = topicNames.get(t.topicId);
      if (topic === undefined) continue;
      for (const p of t.partitions) {
        const key = keyOf(topic, p.partitionIndex);
        const from = positions.get(key);
        if (from === undefined) continue;
        if (p.errorCode === OFFSET_OUT_OF_RANGE) parts.push({ key, from, next: from, outOfRange: true });
        if (p.errorCode !== 0 || partial) continue;
        const { messages, nextOffset, lastOffset, skipped } = recordsToMessages(topic, p, from, this.skip);
        if (lastOffset === undefined) parts.push({ key, from, next: nextOffset !== undefined && nextOffset > from ? nextOffset : from });
        // A batch of skipped records only is committed without the handler (see handle).
        else parts.push({ key, from, next: lastOffset + 1n, batch: { batch: { topic, partition: p.partitionIndex, messages, highWatermark: p.highWatermark.toString(), heartbeat }, last: lastOffset, skipped } });
      }
    }
    return parts;
  }

  /**
   * Hands a fetch's batches to the handler, partitions concurrently; only parts fetched from the
   * partition's current position count. True if a handler failed.
   */
  private async deliver(generation: number, parts: readonly FetchedPartition[]): Promise<boolean> {
    const queue: NonNullable<FetchedPartition['batch']>[] = [];
    for (const p of parts) {
      if (this.positions.get(p.key) !== p.from) continue;
      if (p.outOfRange) {
        // OFFSET_OUT_OF_RANGE (the records were deleted by retention): restart at earliest/latest.
        this.opts.logger?.warn({ partition: p.key, offset: String(p.from) }, 'offset out of range; restarting the partition');
        this.positions.delete(p.key);
        this.resetToDefault.add(p.key);
      } else if (p.batch) queue.push(p.batch);
      else this.positions.set(p.key, p.next);
    }
    let failed = false;
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        if (!(await this.handle(generation, next.batch, next.last, next.skipped))) failed = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.partitionsConcurrently, queue.length) }, worker));
    return failed;
  }

  /**
   * Runs the handler on one batch (not on an empty one: all its records were skipped); `last` is
   * the offset of its last record, handed over or skipped. False if the handler threw (the batch
   * will come again).
   */
  private async handle(generation: number, batch: MessageBatch, last: bigint, skipped: number): Promise<boolean> {
    if (!this.running || generation !== this.generation) return true;
    const { groupId, handler } = this.opts.subscription;
    const key = keyOf(batch.topic, batch.partition);
    const started = process.hrtime.bigint();
    this.handling.add(key);
    let done!: () => void;
    const tracked = new Promise<void>((r) => (done = r));
    this.inFlight.add(tracked);
    try {
      try {
        if (batch.messages.length > 0) await handler(batch);
      } catch (err) {
        this.opts.logger?.error({ err, topic: batch.topic, partition: batch.partition, groupId }, 'batch handler failed; the batch will be delivered again');
        return false;
      }
      if (generation !== this.generation) return true; // reassigned meanwhile: the committed offsets decide
      if (this.seeked.delete(key)) return true; // the handler moved the position
      this.positions.set(key, last + 1n);
      if (this.opts.subscription.commit !== 'manual' && !this.opts.assignment) {
        await this.commit([{ topic: batch.topic, partition: batch.partition, offset: (last + 1n).toString() }]).catch((err: Error) =>
          // The position moved on; the next batch's commit covers this one. A crash before it redelivers (at-least-once).
          this.opts.logger?.warn({ err: err.message, topic: batch.topic, partition: batch.partition, groupId }, 'offset commit failed'),
        );
      }
      const observer = this.opts.observer;
      observer?.consumed?.(groupId, batch.topic, batch.messages.length + skipped);
      observer?.handled?.(groupId, batch.topic, Number(process.hrtime.bigint() - started) / 1e9);
      observer?.lag?.(groupId, batch.topic, batch.partition, Math.max(0, Number(BigInt(batch.highWatermark) - last - 1n)));
      return true;
    } finally {
      this.handling.delete(key);
      this.seeked.delete(key);
      this.inFlight.delete(tracked);
      done();
    }
  }
}

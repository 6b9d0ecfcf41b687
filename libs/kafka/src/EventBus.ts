/**
 * The port every service talks to. Two adapters implement it: KafkaJsBus (a real broker) and
 * InMemoryBus (the embedded mode and fast unit tests). Semantics both keep:
 * - messages with the same key land on the same partition, in publish order;
 * - in a consumer group each message is handled by one member; offsets are committed only after
 *   the handler resolved (at-least-once), so a failed or crashed handler sees the batch again;
 * - `publish` resolves once the message is durably stored (Kafka: acks from all in-sync replicas).
 */
export interface OutgoingMessage {
  topic: string;
  /** Partition key; null/undefined spreads messages over partitions. */
  key?: string | null;
  /**
   * An empty value is a tombstone: KafkaJsBus sends it as a null value, which is what compaction
   * deletes (after the topic's delete.retention.ms); consumers see it as an empty Buffer again.
   */
  value: Buffer | string;
  headers?: Record<string, string>;
  /** Record timestamp in epoch ms (Kafka CreateTime). We set it to the event time, so Kafka's time index is the event-time index. */
  timestampMs?: number;
}

export interface IncomingMessage {
  topic: string;
  partition: number;
  /** Kafka offsets are 64-bit; kept as decimal strings. */
  offset: string;
  key: string | null;
  value: Buffer;
  timestampMs: number;
  headers: Record<string, string>;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  /** The next offset to read (Kafka's committed-offset convention: last handled + 1). */
  offset: string;
}

export interface MessageBatch {
  topic: string;
  partition: number;
  messages: IncomingMessage[];
  /** Offset of the next message the broker will write; lag = highWatermark - (last offset + 1). */
  highWatermark: string;
  /** Keeps group membership alive during long handlers. */
  heartbeat(): Promise<void>;
}

export type CommitMode =
  /** Commit the batch's offsets as soon as the handler resolved (at-least-once). */
  | 'after-handler'
  /** Never commit automatically; the owner calls `Subscription.commit` (e.g. after a state snapshot). */
  | 'manual';

export interface SubscribeOptions {
  groupId: string;
  topics: readonly string[];
  /** Where a group with no committed offset starts (default false: only new messages). */
  fromBeginning?: boolean;
  commit?: CommitMode;
  /**
   * How long a fetch with nothing to return waits at the broker (default: the bus's, 50 ms on
   * KafkaJsBus). Data that arrives ends the wait at once, so a longer wait delays no message; it
   * makes an idle consumer poll (and allocate) less often, and stopping it may take that long.
   */
  fetchMaxWaitMs?: number;
  /**
   * Records carrying this header with exactly this value are not handed to the handler: the
   * adapter looks at the raw record's headers before it builds a message (no key, offset or
   * header strings for them), and their offsets are committed with the batch as if handled; a
   * batch of nothing else is not handed over at all. Whoever may write the topic can set the
   * header, so use it only for a marker whose forgery costs nothing the consumer must guarantee.
   */
  skipHeader?: { name: string; value: string };
  handler(batch: MessageBatch): Promise<void>;
  /** Called after every (re)assignment with this member's partitions, before their batches arrive. */
  onAssignment?(assigned: TopicPartition[]): void | Promise<void>;
}

export interface Subscription {
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /**
   * Moves this member's position on an assigned partition: the next batch for it starts at
   * `offset`. Call it from the handler and return without handling the current batch.
   */
  seek(target: TopicPartitionOffset): void;
  assignments(): TopicPartition[];
  stop(): Promise<void>;
}

/**
 * A reader of every partition of one topic, from its beginning and then as records arrive, that
 * belongs to no consumer group: nothing is committed, other readers do not share its partitions,
 * and it leaves no group behind (materialized views of compacted topics, see CompactedTopicView).
 */
export interface FollowOptions {
  topic: string;
  /**
   * What the reader is for, e.g. `pipeline-gateway-ml-jobs`: the `group` label of its metrics
   * (one series per purpose, not one per process) and the name it goes by in logs.
   */
  name: string;
  /** As SubscribeOptions.fetchMaxWaitMs. */
  fetchMaxWaitMs?: number;
  /** Receives each partition's records in offset order; a handler that throws gets the batch again. */
  handler(batch: MessageBatch): Promise<void>;
}

export interface Follower {
  stop(): Promise<void>;
}

export interface TopicSpec {
  topic: string;
  partitions?: number;
  replicationFactor?: number;
  /** Log compaction: the topic keeps the latest value per key. */
  compacted?: boolean;
  /** Extra topic configs, e.g. `{ 'max.message.bytes': '16777216' }`. */
  config?: Record<string, string>;
}

export interface ReadRangeOptions {
  topic: string;
  /** Inclusive lower bound on the record timestamp (epoch ms); default: the beginning. */
  fromMs?: number;
  /** Exclusive upper bound on the record timestamp (epoch ms); default: now. */
  toMs?: number;
  /** Only these partitions (default: all). */
  partitions?: readonly number[];
  signal?: AbortSignal;
  /**
   * What the read is for (default `pipeline-range-reader`): with kafkajs, which cannot read without a
   * consumer group, the prefix of the group of its own the read uses and deletes when it ends.
   */
  name?: string;
  /**
   * Receives the messages in [fromMs, toMs) partition by partition, in offset order. `progress` is
   * the fraction of the offset range read so far (0..1).
   */
  onBatch(messages: IncomingMessage[], progress: number): void | Promise<void>;
}

export interface EventBus {
  readonly kind: 'kafka' | 'memory';
  connect(): Promise<void>;
  ensureTopics(specs: readonly TopicSpec[]): Promise<void>;
  publish(message: OutgoingMessage): Promise<void>;
  /** Publishes many messages; resolves when all are stored, rejects if any could not be. */
  publishBatch(messages: readonly OutgoingMessage[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Reads a bounded range of a topic without joining a consumer group (batch jobs, training data). */
  readRange(options: ReadRangeOptions): Promise<{ read: number }>;
  /** Reads a whole topic and keeps reading it, outside any consumer group (see FollowOptions). */
  follow(options: FollowOptions): Promise<Follower>;
  partitionsFor(topic: string): Promise<number[]>;
  /** Per partition, the offset the next written message will get (the high watermark). */
  highWatermarks(topic: string): Promise<Map<number, bigint>>;
  /** Per partition, the first offset whose record timestamp is ≥ `timestampMs` (the high watermark if none). */
  offsetsForTime(topic: string, timestampMs: number): Promise<Map<number, bigint>>;
  /** Readiness: true when the broker answers a metadata request. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Hooks the services use to export Prometheus metrics without the bus depending on prom-client. */
export interface BusObserver {
  published?(topic: string, count: number): void;
  publishFailed?(topic: string, count: number, error: Error): void;
  consumed?(groupId: string, topic: string, count: number): void;
  handled?(groupId: string, topic: string, seconds: number): void;
  lag?(groupId: string, topic: string, partition: number, lag: number): void;
  brokerUp?(up: boolean): void;
}

import { randomUUID } from 'node:crypto';
import type * as KafkaJs from 'kafkajs';
import type { Admin, Consumer, Kafka, KafkaMessage, LogEntry, Producer, SASLOptions } from 'kafkajs';
import type {
  BusObserver,
  EventBus,
  FollowOptions,
  Follower,
  IncomingMessage,
  MessageBatch,
  OutgoingMessage,
  ReadRangeOptions,
  SubscribeOptions,
  Subscription,
  TopicPartition,
  TopicPartitionOffset,
  TopicSpec,
} from './EventBus';
import { BrokerHealth } from './BrokerHealth';
import { BusError, hasKafkaError, toBusError, withRetries } from './errors';
import { explainRefusal } from './explainRefusal';
import { fixKafkaJsIdleLoop } from './kafkajsIdleLoopFix';
import { produceWithDeadline } from './produceWithDeadline';
import { COMPACTED_TOPIC_CONFIG } from './pipelineTopics';
import { PublishQueue } from './PublishQueue';

export interface BusLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** SASL mechanisms both adapters support: SCRAM-SHA-512 is what the deployed listener takes. */
export type KafkaSaslMechanism = 'scram-sha-512' | 'scram-sha-256' | 'plain';

/** A SASL login. The password is never logged and never put in an error message. */
export interface KafkaSaslOptions {
  mechanism: KafkaSaslMechanism;
  username: string;
  password: string;
}

/** TLS to the brokers, verified against `ca` (PEM text of one or more certificates, not a path), or Node's trusted CAs when absent. */
export interface KafkaSslOptions {
  ca?: string;
}

export interface KafkaJsBusOptions {
  brokers: readonly string[];
  clientId: string;
  /**
   * Connect with TLS (default: plaintext). A broker certificate the client does not accept fails
   * with BusTlsError, which is not retriable; so does TLS on one side only (a bus without `ssl` on
   * a TLS listener, or with `ssl` on a plaintext one; found by probing, see explainRefusal).
   */
  ssl?: KafkaSslOptions;
  /**
   * Authenticate with SASL (default: none). A login the broker refuses fails with
   * BusAuthenticationError, which is not retriable; so does a bus without `sasl` whose broker
   * requires SASL (checked when a connection is closed on it; see explainRefusal).
   */
  sasl?: KafkaSaslOptions;
  /** Partitions for topics this bus creates (default 3). Existing topics are left as they are. */
  defaultPartitions?: number;
  /** Replication factor for topics this bus creates (default 1: a single local broker). */
  replicationFactor?: number;
  /**
   * Application-side batching (kafkajs has no linger): single `publish` calls wait up to `lingerMs`
   * (default 2 ms) so concurrent calls share one produce request of at most `maxBatchMessages`
   * (default 5,000) messages and `maxBatchBytes` (default 8 MiB of keys and values; a larger
   * single message goes alone). The byte bound keeps each partition's record batch under the
   * topics' `max.message.bytes` (16 MiB for internal topics) when many large messages queue up,
   * e.g. a round of snapshot chunks.
   */
  lingerMs?: number;
  maxBatchMessages?: number;
  maxBatchBytes?: number;
  /** Give up on a publish after this long and reject with BusUnavailableError (default 10,000 ms). */
  publishTimeoutMs?: number;
  /** Idempotent producer (kafkajs: experimental; implies acks=all and one in-flight request). Default true. */
  idempotent?: boolean;
  compression?: 'none' | 'gzip';
  /** Consumer tuning. Session timeout must exceed the longest batch handler (heartbeats run between batches). */
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  maxBytesPerPartition?: number;
  maxWaitTimeMs?: number;
  observer?: BusObserver;
  logger?: BusLogger;
}

/** Options with every default filled in; both Kafka adapters take the same ones. */
export type ResolvedBusOptions = Required<Omit<KafkaJsBusOptions, 'observer' | 'logger' | 'ssl' | 'sasl'>> & Pick<KafkaJsBusOptions, 'observer' | 'logger' | 'ssl' | 'sasl'>;

/** The defaults of KafkaJsBusOptions (and PlatformaticBusOptions), as their doc comments state them. */
export function withBusDefaults(options: KafkaJsBusOptions): ResolvedBusOptions {
  return {
    defaultPartitions: 3,
    replicationFactor: 1,
    lingerMs: 2,
    maxBatchMessages: 5000,
    maxBatchBytes: 8 * 1024 * 1024,
    publishTimeoutMs: 10_000,
    idempotent: true,
    compression: 'none',
    sessionTimeoutMs: 30_000,
    heartbeatIntervalMs: 3_000,
    maxBytesPerPartition: 8 * 1024 * 1024,
    maxWaitTimeMs: 50,
    ...options,
  };
}

const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;
const toHeaders = (h: KafkaMessage['headers']): Record<string, string> => {
  let out: Record<string, string> | undefined;
  if (h) {
    for (const k in h) {
      const v = h[k];
      if (v === undefined) continue;
      out ??= {};
      out[k] = Array.isArray(v) ? String(v[0]) : String(v);
    }
  }
  return out ?? NO_HEADERS;
};

/** Whether a record carries header `name` with value `value` (kafkajs decoded it already; no strings are built). */
const carries = (h: KafkaMessage['headers'], name: string, value: Buffer): boolean => {
  const v = h?.[name];
  if (v === undefined) return false;
  const first = Array.isArray(v) ? v[0] : v;
  return Buffer.isBuffer(first) ? first.equals(value) : String(first) === value.toString('utf8');
};

const toIncoming = (topic: string, partition: number, m: KafkaMessage): IncomingMessage => ({
  topic,
  partition,
  offset: m.offset,
  key: m.key ? m.key.toString('utf8') : null,
  value: m.value ?? Buffer.alloc(0),
  timestampMs: Number(m.timestamp),
  headers: toHeaders(m.headers),
});

/**
 * kafkajs warns at every start that an idempotent producer with bounded retries "may invalidate EoS
 * guarantees". The bound is on purpose: a publish fails with a clear error after `publishTimeoutMs`
 * instead of retrying forever, and the caller decides (ingest answers 503 + Retry-After); idempotence
 * still removes duplicates among the retries it makes. The pipeline promises at-least-once delivery,
 * not exactly-once, so the warning only alarms operators; it is not logged.
 */
const BOUNDED_RETRIES_WARNING = 'Limiting retries for the idempotent producer may invalidate EoS guarantees';

/** kafkajs spells the mechanisms as we do; its type is a union per mechanism. */
const kafkaJsSasl = ({ mechanism, username, password }: KafkaSaslOptions): SASLOptions => {
  switch (mechanism) {
    case 'scram-sha-512':
      return { mechanism, username, password };
    case 'scram-sha-256':
      return { mechanism, username, password };
    case 'plain':
      return { mechanism, username, password };
  }
};

let loadedKafkaJs: typeof KafkaJs | undefined;

/**
 * kafkajs, required on the first KafkaJsBus rather than when `@pipeline/kafka` is loaded: a service
 * on @platformatic/kafka (the default client) never loads it (70–120 ms of start-up on the 2-vCPU
 * bench host, measured with the aggregator's bundle).
 */
function loadKafkaJs(): typeof KafkaJs {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose (see above)
  loadedKafkaJs ??= require('kafkajs') as typeof KafkaJs;
  return loadedKafkaJs;
}

/** EventBus on a real Kafka cluster through kafkajs 2.2. */
export class KafkaJsBus implements EventBus {
  readonly kind = 'kafka' as const;
  private readonly lib: typeof KafkaJs;
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly admin: Admin;
  private readonly opts: ResolvedBusOptions;
  private readonly queue: PublishQueue;
  private producerConnected: Promise<void> | undefined;
  private adminConnected: Promise<void> | undefined;
  private readonly consumers = new Set<Consumer>();
  private readonly health: BrokerHealth;
  /** Groups of running followers (see follow), deleted when they stop. */
  private readonly followerGroups = new Set<string>();
  private closed = false;

  constructor(options: KafkaJsBusOptions) {
    this.opts = withBusDefaults(options);
    const logger = options.logger;
    this.lib = loadKafkaJs();
    const { Kafka, Partitioners, logLevel: KafkaLogLevel } = this.lib;
    fixKafkaJsIdleLoop(); // stops kafkajs's 1 ms timer loop on idle connections (see kafkajsIdleLoopFix.ts)
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: [...options.brokers],
      // kafkajs takes node:tls options; `true` means Node's trusted CAs.
      ssl: options.ssl ? (options.ssl.ca ? { ca: [options.ssl.ca] } : true) : undefined,
      sasl: options.sasl ? kafkaJsSasl(options.sasl) : undefined,
      connectionTimeout: 3_000,
      requestTimeout: 30_000,
      retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 5 },
      logLevel: KafkaLogLevel.WARN,
      logCreator:
        () =>
        ({ level, log }: LogEntry) => {
          if (!logger) return;
          const { message, ...rest } = log;
          if (level === KafkaLogLevel.WARN && message === BOUNDED_RETRIES_WARNING) return;
          if (level <= KafkaLogLevel.ERROR) logger.error({ kafkajs: rest }, message);
          else if (level === KafkaLogLevel.WARN) logger.warn({ kafkajs: rest }, message);
        },
    });
    this.producer = this.kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner, // murmur2, as the Java client (see partitionForKey)
      idempotent: this.opts.idempotent,
      maxInFlightRequests: this.opts.idempotent ? 1 : 5,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 3 },
    });
    this.admin = this.kafka.admin();
    this.health = new BrokerHealth({
      probe: async () => {
        await this.connectAdmin();
        await this.admin.describeCluster();
      },
      observer: this.opts.observer,
    });
    this.queue = new PublishQueue({ lingerMs: this.opts.lingerMs, maxBatchMessages: this.opts.maxBatchMessages, maxBatchBytes: this.opts.maxBatchBytes, send: (m) => this.send(m) });
  }

  async connect(): Promise<void> {
    await Promise.all([this.connectProducer(), this.connectAdmin()]);
    this.health.succeeded();
  }

  private connectProducer(): Promise<void> {
    this.producerConnected ??= this.producer.connect().catch(async (e) => {
      this.producerConnected = undefined;
      throw await this.explain(e);
    });
    return this.producerConnected;
  }

  private connectAdmin(): Promise<void> {
    this.adminConnected ??= this.admin.connect().catch(async (e) => {
      this.adminConnected = undefined;
      throw await this.explain(e);
    });
    return this.adminConnected;
  }

  /** A connection failure as a BusError; BusAuthenticationError when the broker wants a SASL login this bus does not have, BusTlsError when TLS failed. */
  private explain(e: unknown): Promise<BusError> {
    return explainRefusal(e, { brokers: this.opts.brokers, ssl: this.opts.ssl, sasl: this.opts.sasl });
  }

  async ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    await this.connectAdmin();
    let existing: Set<string>;
    try {
      existing = new Set(await this.admin.listTopics());
    } catch (e) {
      // kafkajs's admin "connects" with ApiVersions, which a SASL listener answers before any login: a missing login shows here.
      throw await this.explain(e);
    }
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length === 0) return;
    try {
      await this.admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({
          topic: s.topic,
          numPartitions: s.partitions ?? this.opts.defaultPartitions,
          replicationFactor: s.replicationFactor ?? this.opts.replicationFactor,
          configEntries: Object.entries({
            ...(s.compacted ? COMPACTED_TOPIC_CONFIG : {}),
            ...(s.config ?? {}),
          }).map(([name, value]) => ({ name, value })),
        })),
      });
    } catch (e) {
      // Another service may have created the same topic concurrently.
      if (hasKafkaError(e, 'TOPIC_ALREADY_EXISTS')) return;
      // The topics were created, but kafkajs's wait for their leaders asked a broker that had not
      // heard of them yet (a loaded KRaft broker): wait for the leaders here instead.
      if (hasKafkaError(e, 'UNKNOWN_TOPIC_OR_PARTITION') || hasKafkaError(e, 'LEADER_NOT_AVAILABLE')) return this.waitForLeaders(missing.map((s) => s.topic), e);
      throw toBusError(e);
    }
  }

  /** Polls the topics' metadata (every 200 ms, 15 s at most) until every partition has a leader; else fails with `cause`'s error. */
  private async waitForLeaders(topics: string[], cause: unknown): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      try {
        const meta = await this.admin.fetchTopicMetadata({ topics });
        if (meta.topics.length === topics.length && meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
      } catch {
        // not known to the broker asked yet: poll again
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw toBusError(cause);
  }

  /** Single and batched publishes join one linger queue, which refuses them once the bus is closed (PublishQueue). */
  publish(message: OutgoingMessage): Promise<void> {
    return this.queue.publish(message);
  }

  publishBatch(messages: readonly OutgoingMessage[]): Promise<void> {
    return this.queue.publishBatch(messages);
  }

  /** One produce request per call (grouped by topic), retried with backoff until publishTimeoutMs (produceWithDeadline). */
  private async send(messages: readonly OutgoingMessage[]): Promise<void> {
    const byTopic = new Map<string, { key?: string | null; value: Buffer | string | null; headers?: Record<string, string>; timestamp?: string }[]>();
    for (const m of messages) {
      let list = byTopic.get(m.topic);
      if (!list) byTopic.set(m.topic, (list = []));
      // Empty = tombstone: a null value, so compaction removes the key (an empty value would stay forever).
      const value = m.value.length === 0 ? null : m.value;
      list.push({ key: m.key ?? null, value, headers: m.headers, timestamp: m.timestampMs === undefined ? undefined : String(m.timestampMs) });
    }
    const attempt = async () => {
      await this.connectProducer();
      await this.producer.sendBatch({
        acks: -1,
        timeout: 30_000,
        compression: this.opts.compression === 'gzip' ? this.lib.CompressionTypes.GZIP : this.lib.CompressionTypes.None,
        topicMessages: [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })),
      });
    };
    await produceWithDeadline(attempt, new Map([...byTopic].map(([topic, msgs]) => [topic, msgs.length])), { ...this.opts, health: this.health });
  }

  subscribe(options: SubscribeOptions): Promise<Subscription> {
    return this.consume(options, options.groupId);
  }

  /**
   * kafkajs cannot read without a consumer group (it has no manual partition assignment), and the
   * members of one group split its partitions, so one group per purpose shared by a service's
   * replicas would give each replica part of the topic. So every follower gets a group of its own,
   * `<name>-<uuid>`, that never commits an offset, is reported in metrics as `name`, and is deleted
   * (admin.deleteGroups) when the follower stops or the bus closes. A process that dies leaves an
   * empty group without offsets, which the broker drops at its next offsets-retention check
   * (offsets.retention.check.interval.ms, 10 minutes by default). @platformatic/kafka reads
   * without a group (PlatformaticBus.follow).
   */
  async follow(options: FollowOptions): Promise<Follower> {
    const groupId = `${options.name}-${randomUUID()}`;
    const sub = await this.consume({ groupId, topics: [options.topic], fromBeginning: true, commit: 'manual', fetchMaxWaitMs: options.fetchMaxWaitMs, handler: options.handler }, options.name);
    this.followerGroups.add(groupId);
    return {
      stop: async () => {
        await sub.stop();
        if (this.followerGroups.delete(groupId)) await this.deleteGroup(groupId);
      },
    };
  }

  private async deleteGroup(groupId: string): Promise<void> {
    try {
      await this.connectAdmin();
      await this.admin.deleteGroups([groupId]);
    } catch (err) {
      this.opts.logger?.warn({ err: toBusError(err).message, groupId }, 'deleting a follower\'s consumer group failed; the broker drops it once empty');
    }
  }

  /** A consumer group member; `label` is the group its metrics are reported under. */
  private async consume(options: SubscribeOptions, label: string): Promise<Subscription> {
    const { groupId, handler } = options;
    const manual = options.commit === 'manual';
    const consumer = this.kafka.consumer({
      groupId,
      sessionTimeout: this.opts.sessionTimeoutMs,
      heartbeatInterval: this.opts.heartbeatIntervalMs,
      maxBytesPerPartition: this.opts.maxBytesPerPartition,
      maxBytes: this.opts.maxBytesPerPartition * 4,
      maxWaitTimeInMs: options.fetchMaxWaitMs ?? this.opts.maxWaitTimeMs,
      allowAutoTopicCreation: false,
      // Reconnect forever: a broker outage must not need a service restart.
      retry: { initialRetryTime: 200, maxRetryTime: 5_000, retries: 10, restartOnFailure: async () => !this.closed },
    });
    this.consumers.add(consumer);
    let assigned: TopicPartition[] = [];
    const seeked = new Set<string>();
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      assigned = Object.entries(e.payload.memberAssignment).flatMap(([topic, parts]) => (parts as number[]).map((partition) => ({ topic, partition })));
      void Promise.resolve(options.onAssignment?.(assigned)).catch((err) => this.opts.logger?.error({ err }, 'onAssignment failed'));
    });
    try {
      await consumer.connect();
    } catch (e) {
      this.consumers.delete(consumer);
      throw await this.explain(e);
    }
    await consumer.subscribe({ topics: [...options.topics], fromBeginning: options.fromBeginning ?? false });
    const observer = this.opts.observer;
    const skip = options.skipHeader && { name: options.skipHeader.name, value: Buffer.from(options.skipHeader.value, 'utf8') };
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: async ({ batch, heartbeat, resolveOffset, isRunning, isStale, commitOffsetsIfNecessary }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        const started = process.hrtime.bigint();
        const kept = skip ? batch.messages.filter((m) => !carries(m.headers, skip.name, skip.value)) : batch.messages;
        const wrapped: MessageBatch = {
          topic: batch.topic,
          partition: batch.partition,
          messages: kept.map((m) => toIncoming(batch.topic, batch.partition, m)),
          highWatermark: batch.highWatermark,
          heartbeat,
        };
        // A batch of skipped records only is committed without the handler.
        if (kept.length > 0) await handler(wrapped); // throws → offsets stay unresolved → kafkajs re-fetches the batch
        if (seeked.delete(`${batch.topic}:${batch.partition}`)) return; // handler moved the position
        const last = batch.messages[batch.messages.length - 1]!.offset;
        resolveOffset(last);
        if (!manual) {
          await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
        }
        await heartbeat();
        await commitOffsetsIfNecessary().catch(() => undefined);
        observer?.consumed?.(label, batch.topic, batch.messages.length);
        observer?.handled?.(label, batch.topic, Number(process.hrtime.bigint() - started) / 1e9);
        observer?.lag?.(label, batch.topic, batch.partition, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(last) - 1n)));
      },
    });
    return {
      commit: async (offsets: readonly TopicPartitionOffset[]) => {
        if (offsets.length > 0) await consumer.commitOffsets(offsets.map((o) => ({ ...o })));
      },
      assignments: () => assigned,
      seek: (t: TopicPartitionOffset) => {
        seeked.add(`${t.topic}:${t.partition}`);
        consumer.seek({ topic: t.topic, partition: t.partition, offset: t.offset });
      },
      stop: async () => {
        this.consumers.delete(consumer);
        await consumer.disconnect();
      },
    };
  }

  /**
   * An admin read about `topic`, retried (with backoff, up to 5 times) on a retriable refusal such as
   * NOT_LEADER_OR_FOLLOWER, which a topic answers for a moment after it was created or its leader
   * moved; each retry refreshes the topic's metadata first. kafkajs's admin does not retry these.
   */
  private async adminRead<T>(topic: string, read: () => Promise<T>): Promise<T> {
    this.health.throwIfDown();
    await this.connectAdmin();
    let attempt = 0;
    return withRetries(
      async () => {
        if (attempt++ > 0) await this.admin.fetchTopicMetadata({ topics: [topic] });
        return read();
      },
      { retries: 5, baseMs: 100, maxMs: 1_000 },
    );
  }

  async partitionsFor(topic: string): Promise<number[]> {
    this.health.throwIfDown();
    await this.connectAdmin();
    const meta = await this.admin.fetchTopicMetadata({ topics: [topic] });
    return meta.topics[0]!.partitions.map((p) => p.partitionId).sort((a, b) => a - b);
  }

  async highWatermarks(topic: string): Promise<Map<number, bigint>> {
    const offsets = await this.adminRead(topic, () => this.admin.fetchTopicOffsets(topic));
    return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  }

  async offsetsForTime(topic: string, timestampMs: number): Promise<Map<number, bigint>> {
    const [at, ends] = await this.adminRead(topic, () => Promise.all([this.admin.fetchTopicOffsetsByTimestamp(topic, timestampMs), this.admin.fetchTopicOffsets(topic)]));
    return new Map(at.map((o) => [o.partition, o.offset === '-1' ? BigInt(ends.find((e) => e.partition === o.partition)!.high) : BigInt(o.offset)]));
  }

  async readRange(options: ReadRangeOptions): Promise<{ read: number }> {
    const { topic, signal } = options;
    const fromMs = options.fromMs ?? 0;
    const toMs = options.toMs ?? Date.now();
    const wanted = options.partitions ? new Set(options.partitions) : undefined;
    const [starts, ends] = await this.adminRead(topic, () => Promise.all([this.admin.fetchTopicOffsetsByTimestamp(topic, fromMs), this.admin.fetchTopicOffsets(topic)]));
    // Record timestamps are not strictly ordered, so read from the first offset at/after fromMs up to
    // the high watermark at job start, and filter every record by its timestamp.
    const ranges = new Map<number, { start: bigint; end: bigint }>();
    for (const s of starts) {
      if (wanted && !wanted.has(s.partition)) continue;
      const end = BigInt(ends.find((e) => e.partition === s.partition)!.high);
      const start = s.offset === '-1' ? end : BigInt(s.offset);
      if (start < end) ranges.set(s.partition, { start, end });
    }
    const total = [...ranges.values()].reduce((a, r) => a + Number(r.end - r.start), 0);
    if (total === 0) return { read: 0 };
    // A group of its own, as follow's (kafkajs cannot read without one, and concurrent reads in a
    // shared group would split the partitions): it never commits and is deleted when the read ends.
    const groupId = `${options.name ?? 'pipeline-range-reader'}-${randomUUID()}`;
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 50, maxBytesPerPartition: this.opts.maxBytesPerPartition, allowAutoTopicCreation: false, retry: { retries: 5 } });
    let read = 0;
    let scanned = 0;
    const done = new Set<number>();
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      const finished = new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(new BusError('read cancelled', false, signal?.reason));
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        void consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch, heartbeat }) => {
              const r = ranges.get(batch.partition);
              if (!r || done.has(batch.partition)) return;
              const out: IncomingMessage[] = [];
              for (const m of batch.messages) {
                const off = BigInt(m.offset);
                if (off < r.start) continue;
                if (off >= r.end) break;
                scanned++;
                const ts = Number(m.timestamp);
                if (ts >= fromMs && ts < toMs) out.push(toIncoming(topic, batch.partition, m));
              }
              read += out.length;
              if (signal?.aborted) return;
              try {
                await options.onBatch(out, Math.min(1, scanned / total));
              } catch (e) {
                reject(e);
                return;
              }
              await heartbeat();
              const lastOff = BigInt(batch.messages[batch.messages.length - 1]!.offset);
              if (lastOff + 1n >= r.end) {
                done.add(batch.partition);
                if (done.size === ranges.size) resolve();
              }
            },
          })
          .then(() => {
            for (const [partition, r] of ranges) consumer.seek({ topic, partition, offset: r.start.toString() });
          }, reject);
      });
      await finished;
      return { read };
    } finally {
      await consumer.disconnect().catch(() => undefined);
      await this.deleteGroup(groupId);
    }
  }

  /** Readiness from what is known of the brokers, without waiting (see BrokerHealth). */
  async ping(): Promise<boolean> {
    return this.health.isUp();
  }

  /** Flushes queued publishes, stops consumers (their offsets are committed by their handlers), closes clients. */
  async close(): Promise<void> {
    if (this.closed) return;
    // Publishes made while the queue drains are still taken and sent.
    await this.queue.drain();
    await this.queue.close();
    this.closed = true;
    this.health.stop();
    await Promise.allSettled([...this.consumers].map((c) => c.disconnect()));
    await Promise.allSettled([...this.followerGroups].map((g) => this.deleteGroup(g)));
    this.followerGroups.clear();
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }
}

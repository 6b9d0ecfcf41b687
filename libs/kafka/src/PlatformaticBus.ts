import type { Admin, Consumer, Producer } from '@platformatic/kafka';
import type { EventBus, FollowOptions, Follower, IncomingMessage, OutgoingMessage, ReadRangeOptions, SubscribeOptions, Subscription, TopicSpec } from './EventBus';
import { withBusDefaults, type KafkaJsBusOptions, type KafkaSaslMechanism, type ResolvedBusOptions } from './KafkaJsBus';
import { BrokerHealth } from './BrokerHealth';
import { BusError, hasKafkaError, toBusError, withRetries } from './errors';
import { explainRefusal } from './explainRefusal';
import { loadPlatformaticKafka, type PlatformaticKafkaModule } from './loadPlatformaticKafka';
import { murmur2 } from './partitionForKey';
import { PlatformaticGroupMember } from './PlatformaticGroupMember';
import { produceWithDeadline } from './produceWithDeadline';
import { PublishQueue } from './PublishQueue';
import { recordsToMessages } from './recordsToMessages';
import { COMPACTED_TOPIC_CONFIG } from './pipelineTopics';

/** The same options as KafkaJsBus, with the same meanings and defaults. */
export type PlatformaticBusOptions = KafkaJsBusOptions;

const LATEST = -1n;

/**
 * Bounds of one fetch on @platformatic/kafka, bytes: per partition and per response, below the
 * bus's `maxBytesPerPartition` when that is larger. The library decodes a response where it lies,
 * in the list of socket reads it arrived in (up to 64 KiB each), and finds the read that holds each
 * field by walking that list from its start (@platformatic/dynamic-buffer 0.3), so decoding a record
 * costs in proportion to the size of its response: the same 500,000 records took 2.6 s of decoding
 * in responses of up to 32 MiB and 0.7 s in responses of up to 1 MiB (CPU profiles,
 * bench/kafka/RESULTS.md). Kafka still returns a first record batch larger than these bounds, so
 * they limit no message size.
 */
export const PLATFORMATIC_FETCH_BYTES = { partition: 256 * 1024, response: 1024 * 1024 } as const;

const PLATFORMATIC_SASL_MECHANISMS = { 'scram-sha-512': 'SCRAM-SHA-512', 'scram-sha-256': 'SCRAM-SHA-256', plain: 'PLAIN' } as const satisfies Record<KafkaSaslMechanism, string>;

/**
 * EventBus on a real Kafka cluster through @platformatic/kafka 2.x (Node ≥ 22.22 / 24.6). It keeps
 * every rule KafkaJsBus keeps: acks from all in-sync replicas (idempotent producer by default),
 * murmur2 partitioning as the Java client, application-side batching with per-key order, a
 * publish that gives up after `publishTimeoutMs` with BusUnavailableError, empty values sent as
 * null (tombstones), consumer groups with kafkajs's eachBatch semantics (PlatformaticGroupMember),
 * range reads by record timestamp without a group, and the same BusError kinds.
 */
export class PlatformaticBus implements EventBus {
  readonly kind = 'kafka' as const;
  private readonly lib: PlatformaticKafkaModule;
  private readonly opts: ResolvedBusOptions;
  /** Header keys and values go in as strings (see send). */
  private readonly producer: Producer<Buffer, Buffer, string, string>;
  private readonly admin: Admin;
  /** A consumer that never joins a group: offsets by time and high watermarks. */
  private readonly offsets: Consumer;
  private readonly queue: PublishQueue;
  private readonly health: BrokerHealth;
  private readonly members = new Set<PlatformaticGroupMember>();
  private readonly readers = new Set<Consumer>();
  private keylessCounter = 0;
  private closed = false;

  constructor(options: PlatformaticBusOptions) {
    this.opts = withBusDefaults(options);
    this.lib = loadPlatformaticKafka();
    this.producer = new this.lib.Producer<Buffer, Buffer, string, string>({
      ...this.clientOptions(),
      serializers: { headerKey: this.lib.stringSerializer, headerValue: this.lib.stringSerializer },
      idempotent: this.opts.idempotent,
      acks: this.lib.ProduceAcks.ALL,
      compression: this.opts.compression,
      // murmur2 & 0x7fffffff as the Java client and kafkajs (the library's default drops the mask differently); keyless messages go round-robin.
      partitioner: (_message, key) => (key ? murmur2(key) & 0x7fffffff : this.keylessCounter++ & 0x7fffffff),
      autocreateTopics: false,
    });
    this.admin = new this.lib.Admin(this.clientOptions());
    this.offsets = this.newReader();
    this.health = new BrokerHealth({ probe: () => this.admin.metadata({ topics: [], forceUpdate: true }), observer: this.opts.observer });
    this.queue = new PublishQueue({ lingerMs: this.opts.lingerMs, maxBatchMessages: this.opts.maxBatchMessages, maxBatchBytes: this.opts.maxBatchBytes, send: (m) => this.send(m) });
  }

  /** The library connects on first use; this checks that the cluster answers. */
  async connect(): Promise<void> {
    try {
      await this.admin.metadata({ topics: [] });
    } catch (e) {
      throw await this.explain(e);
    }
    this.health.succeeded();
  }

  /** A connection failure as a BusError; BusAuthenticationError when the broker wants a SASL login this bus does not have, BusTlsError when TLS failed. */
  private explain(e: unknown): Promise<BusError> {
    return explainRefusal(e, { brokers: this.opts.brokers, ssl: this.opts.ssl, sasl: this.opts.sasl });
  }

  async ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    let existing: Set<string>;
    try {
      existing = new Set(await this.admin.listTopics());
    } catch (e) {
      throw await this.explain(e);
    }
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length === 0) return;
    await Promise.all(
      missing.map(async (s) => {
        try {
          await this.admin.createTopics({
            topics: [s.topic],
            partitions: s.partitions ?? this.opts.defaultPartitions,
            replicas: s.replicationFactor ?? this.opts.replicationFactor,
            configs: Object.entries({
              ...(s.compacted ? COMPACTED_TOPIC_CONFIG : {}),
              ...(s.config ?? {}),
            }).map(([name, value]) => ({ name, value })),
          });
        } catch (e) {
          // Another service may have created the same topic concurrently.
          if (!hasKafkaError(e, 'TOPIC_ALREADY_EXISTS')) throw toBusError(e);
        }
      }),
    );
    await this.waitForLeaders(missing.map((s) => s.topic));
  }

  /** As kafkajs's createTopics({ waitForLeaders: true }): a publish right after creation finds every partition led. */
  private async waitForLeaders(topics: string[]): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const ready = await this.admin.metadata({ topics, forceUpdate: true }).then(
        (m) => topics.every((t) => m.topics.get(t)?.partitions.every((p) => p.leader >= 0)),
        () => false,
      );
      if (ready) return;
      if (Date.now() > deadline) throw new BusError(`topics ${topics.join(', ')} have no leader 10 s after creation`, true);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Single and batched publishes join one linger queue, which refuses them once the bus is closed (PublishQueue). */
  publish(message: OutgoingMessage): Promise<void> {
    return this.queue.publish(message);
  }

  publishBatch(messages: readonly OutgoingMessage[]): Promise<void> {
    return this.queue.publishBatch(messages);
  }

  /** One produce call per request, retried with backoff until publishTimeoutMs (produceWithDeadline). */
  private async send(messages: readonly OutgoingMessage[]): Promise<void> {
    const records = messages.map((m) => ({
      topic: m.topic,
      key: m.key == null ? undefined : Buffer.from(m.key, 'utf8'),
      // Empty = tombstone: a null value, so compaction removes the key (an empty value would stay forever).
      value: m.value.length === 0 ? null : typeof m.value === 'string' ? Buffer.from(m.value, 'utf8') : m.value,
      // A plain object, not a Map: the library tells a Map by `instanceof Map`, which a Map from
      // another realm (a Jest sandbox) fails, and its headers were then silently dropped.
      headers: m.headers,
      timestamp: m.timestampMs === undefined ? undefined : BigInt(m.timestampMs),
    }));
    const counts = new Map<string, number>();
    for (const m of messages) counts.set(m.topic, (counts.get(m.topic) ?? 0) + 1);
    // The library's value type says Buffer; null is what it writes as a null value (its schema allows it).
    await produceWithDeadline(() => this.producer.send({ messages: records as { topic: string; value: Buffer }[] }), counts, { ...this.opts, health: this.health });
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.closed) throw new BusError('bus is closed', false);
    const consumer = new this.lib.Consumer({
      ...this.clientOptions(),
      // A JoinGroup waits at the coordinator for up to the rebalance timeout: the request must outlast it.
      timeout: this.opts.sessionTimeoutMs + 10_000,
      groupId: options.groupId,
      autocommit: false,
      sessionTimeout: this.opts.sessionTimeoutMs,
      rebalanceTimeout: this.opts.sessionTimeoutMs,
      heartbeatInterval: this.opts.heartbeatIntervalMs,
      maxBytesPerPartition: this.opts.maxBytesPerPartition,
      // Services check that a group's commands are handled by retries, so a lost member must not stall the group for long.
      retries: 5,
    });
    const member = new PlatformaticGroupMember({
      consumer,
      subscription: options,
      maxWaitTimeMs: this.opts.maxWaitTimeMs,
      maxBytesPerPartition: Math.min(this.opts.maxBytesPerPartition, PLATFORMATIC_FETCH_BYTES.partition),
      maxBytesPerFetch: Math.min(4 * this.opts.maxBytesPerPartition, PLATFORMATIC_FETCH_BYTES.response),
      partitionsConcurrently: 4,
      observer: this.opts.observer,
      logger: this.opts.logger,
    });
    try {
      await member.start();
    } catch (e) {
      throw await this.explain(e);
    }
    this.members.add(member);
    return {
      commit: (offsets) => member.commit(offsets),
      seek: (target) => member.seek(target),
      assignments: () => member.assignments(),
      stop: async () => {
        this.members.delete(member);
        await member.stop();
      },
    };
  }

  /** A PlatformaticGroupMember on every partition of the topic that never joins a group (see FollowOptions). */
  async follow(options: FollowOptions): Promise<Follower> {
    if (this.closed) throw new BusError('bus is closed', false);
    const partitions = await this.partitionsFor(options.topic);
    const member = new PlatformaticGroupMember({
      // The group id is required by the library and never used: the consumer only lists offsets and fetches.
      consumer: new this.lib.Consumer({ ...this.clientOptions(), groupId: options.name, autocommit: false, maxBytesPerPartition: this.opts.maxBytesPerPartition }),
      subscription: { groupId: options.name, topics: [options.topic], fromBeginning: true, commit: 'manual', fetchMaxWaitMs: options.fetchMaxWaitMs, handler: options.handler },
      assignment: partitions.map((partition) => ({ topic: options.topic, partition })),
      maxWaitTimeMs: this.opts.maxWaitTimeMs,
      maxBytesPerPartition: Math.min(this.opts.maxBytesPerPartition, PLATFORMATIC_FETCH_BYTES.partition),
      maxBytesPerFetch: Math.min(4 * this.opts.maxBytesPerPartition, PLATFORMATIC_FETCH_BYTES.response),
      partitionsConcurrently: 4,
      observer: this.opts.observer,
      logger: this.opts.logger,
    });
    await member.start();
    this.members.add(member);
    return {
      stop: async () => {
        this.members.delete(member);
        await member.stop();
      },
    };
  }

  async partitionsFor(topic: string): Promise<number[]> {
    this.health.throwIfDown();
    try {
      const meta = await this.admin.metadata({ topics: [topic] });
      return Array.from({ length: meta.topics.get(topic)!.partitionsCount }, (_, i) => i);
    } catch (e) {
      throw toBusError(e);
    }
  }

  async highWatermarks(topic: string): Promise<Map<number, bigint>> {
    return this.listOffsets(topic, LATEST);
  }

  async offsetsForTime(topic: string, timestampMs: number): Promise<Map<number, bigint>> {
    const [at, ends] = await Promise.all([this.listOffsets(topic, BigInt(timestampMs)), this.listOffsets(topic, LATEST)]);
    return new Map([...at].map(([p, o]) => [p, o < 0n ? ends.get(p)! : o]));
  }

  private async listOffsets(topic: string, timestamp: bigint): Promise<Map<number, bigint>> {
    this.health.throwIfDown();
    try {
      const offsets = await this.offsets.listOffsets({ topics: [topic], timestamp });
      return new Map((offsets.get(topic) ?? []).map((o, p) => [p, o] as const));
    } catch (e) {
      throw toBusError(e);
    }
  }

  /**
   * Reads partition by partition, from the first offset at/after fromMs up to the high watermark at
   * the start; record timestamps are not strictly ordered, so every record is filtered by its own.
   * `progress` is the share of the offset range passed so far, 1 after the last batch.
   */
  async readRange(options: ReadRangeOptions): Promise<{ read: number }> {
    const { topic, signal } = options;
    const fromMs = options.fromMs ?? 0;
    const toMs = options.toMs ?? Date.now();
    const wanted = options.partitions ? new Set(options.partitions) : undefined;
    const [starts, ends] = await Promise.all([this.offsetsForTime(topic, fromMs), this.highWatermarks(topic)]);
    const ranges: { partition: number; start: bigint; end: bigint }[] = [];
    for (const [partition, start] of starts) {
      const end = ends.get(partition)!;
      if ((!wanted || wanted.has(partition)) && start < end) ranges.push({ partition, start, end });
    }
    const total = ranges.reduce((a, r) => a + Number(r.end - r.start), 0);
    if (total === 0) return { read: 0 };
    const reader = this.newReader();
    this.readers.add(reader);
    reader.topics.track(topic);
    let read = 0;
    let passed = 0;
    let stalls = 0;
    try {
      for (const r of ranges) {
        for (let position = r.start; position < r.end; ) {
          if (signal?.aborted) throw new BusError('read cancelled', false, signal.reason);
          const maxBytes = Math.min(this.opts.maxBytesPerPartition, PLATFORMATIC_FETCH_BYTES.response);
          const fetchAt = async (offset: bigint) => {
            const meta = (await reader.metadata({ topics: [topic] })).topics.get(topic)!;
            return reader.fetch({
              node: meta.partitions[r.partition]!.leader,
              topics: [{ topicId: meta.id, partitions: [{ partition: r.partition, fetchOffset: offset, partitionMaxBytes: maxBytes, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }],
              maxWaitTime: 50,
              maxBytes,
            });
          };
          // A leader moving or a fetch session the broker dropped fails one fetch: retried (a missing topic is not).
          const response = await withRetries(
            () => fetchAt(position).catch((e: unknown) => {
              reader.clearMetadata();
              throw e;
            }),
            { retries: 5, baseMs: 100, maxMs: 1_000 },
          );
          const part = response.responses.flatMap((t) => t.partitions).find((p) => p.partitionIndex === r.partition);
          const { messages, nextOffset } = part ? recordsToMessages(topic, part, position) : { messages: [], nextOffset: undefined };
          let next = nextOffset !== undefined && nextOffset > position ? (nextOffset < r.end ? nextOffset : r.end) : position;
          // Nothing more below the end (e.g. the rest was compacted away meanwhile): the partition is done.
          if (next === position && ++stalls >= 3) next = r.end;
          else if (next > position) stalls = 0;
          const out: IncomingMessage[] = [];
          for (const m of messages) {
            if (BigInt(m.offset) >= r.end) break;
            if (m.timestampMs >= fromMs && m.timestampMs < toMs) out.push(m);
          }
          passed += Number(next - position);
          position = next;
          if (signal?.aborted) throw new BusError('read cancelled', false, signal.reason);
          read += out.length;
          if (out.length > 0 || position >= r.end) await options.onBatch(out, Math.min(1, passed / total));
        }
      }
      return { read };
    } catch (e) {
      throw toBusError(e);
    } finally {
      this.readers.delete(reader);
      await reader.close(true).catch(() => undefined);
    }
  }

  /** Readiness from what is known of the brokers, without waiting (see BrokerHealth). */
  async ping(): Promise<boolean> {
    return this.health.isUp();
  }

  /** Flushes queued publishes, stops group members (their handlers commit), closes clients. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue.close();
    this.closed = true;
    this.health.stop();
    await Promise.allSettled([...this.members].map((m) => m.stop()));
    await Promise.allSettled([...[...this.readers, this.offsets].map((c) => c.close(true)), this.producer.close(true), this.admin.close()]);
  }

  private clientOptions() {
    const { ssl, sasl } = this.opts;
    return {
      clientId: this.opts.clientId,
      bootstrapBrokers: [...this.opts.brokers],
      // node:tls options; without `ca`, Node's trusted CAs.
      ...(ssl ? { tls: ssl.ca ? { ca: ssl.ca } : {} } : {}),
      // The library spells mechanisms in upper case (SASLMechanisms: 'SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN').
      ...(sasl ? { sasl: { mechanism: PLATFORMATIC_SASL_MECHANISMS[sasl.mechanism], username: sasl.username, password: sasl.password } } : {}),
      connectTimeout: 3_000,
      timeout: 30_000,
      retries: 3,
      retryDelay: 100,
    };
  }

  /**
   * A consumer that only lists offsets and fetches: it never joins or commits to its group, so the
   * broker never hears of the group (the library requires an id).
   */
  private newReader(): Consumer {
    return new this.lib.Consumer({ ...this.clientOptions(), groupId: 'pipeline-range-reader', autocommit: false });
  }
}

import { randomUUID } from 'node:crypto';
import type {
  EventBus,
  FollowOptions,
  Follower,
  IncomingMessage,
  OutgoingMessage,
  ReadRangeOptions,
  SubscribeOptions,
  Subscription,
  TopicPartition,
  TopicPartitionOffset,
  TopicSpec,
} from './EventBus';
import { BusError } from './errors';
import { partitionForKey } from './partitionForKey';

type StoredMessage = IncomingMessage;

interface Member {
  id: number;
  options: SubscribeOptions;
  assigned: TopicPartition[];
  /** Next offset to deliver per "topic:partition". */
  position: Map<string, number>;
  running: boolean;
  /** Partitions whose position the handler moved with seek() during the current batch. */
  seeked: Set<string>;
  scheduled: boolean;
  busy: boolean;
}

interface Group {
  members: Member[];
  committed: Map<string, number>;
}

const tpKey = (topic: string, partition: number) => `${topic}:${partition}`;

/**
 * EventBus in one process, for the embedded mode and unit tests. It keeps the semantics services
 * rely on: per-key order (same key → same partition), consumer groups that split partitions among
 * members and deliver each message to one member, offsets committed after the handler resolved
 * (a throwing handler gets the same batch again after `retryDelayMs`), compacted topics are NOT
 * compacted (everything is kept in memory; fine for a dev process, not for months of data).
 */
export class InMemoryBus implements EventBus {
  readonly kind = 'memory' as const;
  private readonly topics = new Map<string, { partitions: StoredMessage[][]; rr: number }>();
  private readonly groups = new Map<string, Group>();
  private nextMemberId = 1;
  private closed = false;

  constructor(private readonly opts: { defaultPartitions?: number; maxBatchMessages?: number; retryDelayMs?: number } = {}) {}

  async connect(): Promise<void> {}

  async ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    for (const s of specs) {
      if (!this.topics.has(s.topic)) {
        const n = s.partitions ?? this.opts.defaultPartitions ?? 3;
        this.topics.set(s.topic, { partitions: Array.from({ length: n }, () => []), rr: 0 });
      }
    }
  }

  async publish(message: OutgoingMessage): Promise<void> {
    this.append(message);
    this.wake();
  }

  async publishBatch(messages: readonly OutgoingMessage[]): Promise<void> {
    // Validate every topic first so a batch is all-or-nothing, as a single produce request is.
    for (const m of messages) this.topicOf(m.topic);
    for (const m of messages) this.append(m);
    this.wake();
  }

  private topicOf(topic: string) {
    if (this.closed) throw new BusError('bus is closed', false);
    const t = this.topics.get(topic);
    if (!t) throw new BusError(`unknown topic ${topic}`, false);
    return t;
  }

  private append(m: OutgoingMessage): void {
    const t = this.topicOf(m.topic);
    const n = t.partitions.length;
    const partition = m.key == null ? t.rr++ % n : partitionForKey(m.key, n);
    const log = t.partitions[partition]!;
    log.push({
      topic: m.topic,
      partition,
      offset: String(log.length),
      key: m.key ?? null,
      value: typeof m.value === 'string' ? Buffer.from(m.value) : m.value,
      timestampMs: m.timestampMs ?? Date.now(),
      headers: { ...(m.headers ?? {}) },
    });
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    for (const topic of options.topics) this.topicOf(topic);
    let group = this.groups.get(options.groupId);
    if (!group) this.groups.set(options.groupId, (group = { members: [], committed: new Map() }));
    const member: Member = { id: this.nextMemberId++, options, assigned: [], position: new Map(), running: true, seeked: new Set(), scheduled: false, busy: false };
    group.members.push(member);
    this.rebalance(group);
    const g = group;
    return {
      commit: async (offsets: readonly TopicPartitionOffset[]) => {
        for (const o of offsets) g.committed.set(tpKey(o.topic, o.partition), Number(o.offset));
      },
      assignments: () => member.assigned,
      seek: (t: TopicPartitionOffset) => {
        member.position.set(tpKey(t.topic, t.partition), Number(t.offset));
        member.seeked.add(tpKey(t.topic, t.partition));
        this.schedule(g, member);
      },
      stop: async () => {
        member.running = false;
        while (member.busy) await new Promise((r) => setTimeout(r, 1));
        g.members = g.members.filter((m) => m !== member);
        this.rebalance(g);
      },
    };
  }

  /** A member of a group of its own (the in-memory bus keeps no group list to litter). */
  async follow(options: FollowOptions): Promise<Follower> {
    const groupId = `${options.name}-${randomUUID()}`;
    const sub = await this.subscribe({ groupId, topics: [options.topic], fromBeginning: true, commit: 'manual', fetchMaxWaitMs: options.fetchMaxWaitMs, handler: options.handler });
    return {
      stop: async () => {
        await sub.stop();
        this.groups.delete(groupId);
      },
    };
  }

  /** Range assignment of every subscribed partition over the group's members, like Kafka's. */
  private rebalance(group: Group): void {
    const topics = [...new Set(group.members.flatMap((m) => m.options.topics))].sort();
    for (const m of group.members) m.assigned = [];
    for (const topic of topics) {
      const subscribers = group.members.filter((m) => m.options.topics.includes(topic));
      const n = this.topics.get(topic)!.partitions.length;
      for (let p = 0; p < n; p++) subscribers[p % subscribers.length]!.assigned.push({ topic, partition: p });
    }
    for (const m of group.members) {
      m.position.clear();
      for (const tp of m.assigned) {
        const committed = group.committed.get(tpKey(tp.topic, tp.partition));
        const log = this.topics.get(tp.topic)!.partitions[tp.partition]!;
        m.position.set(tpKey(tp.topic, tp.partition), committed ?? (m.options.fromBeginning ? 0 : log.length));
      }
      void Promise.resolve(m.options.onAssignment?.(m.assigned)).catch(() => undefined);
      this.schedule(group, m);
    }
  }

  private wake(): void {
    for (const g of this.groups.values()) for (const m of g.members) this.schedule(g, m);
  }

  private schedule(group: Group, m: Member, delayMs = 0): void {
    if (m.scheduled || !m.running || this.closed) return;
    m.scheduled = true;
    const run = () => {
      m.scheduled = false;
      void this.pump(group, m);
    };
    if (delayMs > 0) setTimeout(run, delayMs);
    else setImmediate(run);
  }

  private async pump(group: Group, m: Member): Promise<void> {
    if (m.busy || !m.running) return;
    m.busy = true;
    let delivered = false;
    try {
      for (const tp of m.assigned) {
        if (!m.running) break;
        const key = tpKey(tp.topic, tp.partition);
        const log = this.topics.get(tp.topic)!.partitions[tp.partition]!;
        const pos = m.position.get(key) ?? 0;
        if (pos >= log.length) continue;
        const slice = log.slice(pos, pos + (this.opts.maxBatchMessages ?? 1000));
        const skip = m.options.skipHeader;
        const messages = skip ? slice.filter((x) => x.headers[skip.name] !== skip.value) : slice;
        try {
          if (messages.length > 0) await m.options.handler({ topic: tp.topic, partition: tp.partition, messages, highWatermark: String(log.length), heartbeat: async () => {} });
        } catch {
          // At-least-once: the same batch is delivered again after a pause.
          m.busy = false;
          this.schedule(group, m, this.opts.retryDelayMs ?? 100);
          return;
        }
        if (m.seeked.delete(key)) {
          delivered = true; // the handler moved the position; deliver from there next
          continue;
        }
        if (m.position.get(key) !== pos) continue; // rebalanced meanwhile
        m.position.set(key, pos + slice.length);
        if (m.options.commit !== 'manual') group.committed.set(key, pos + slice.length);
        delivered = true;
      }
    } finally {
      m.busy = false;
    }
    if (delivered) this.schedule(group, m);
  }

  async readRange(options: ReadRangeOptions): Promise<{ read: number }> {
    const t = this.topicOf(options.topic);
    const fromMs = options.fromMs ?? 0;
    const toMs = options.toMs ?? Date.now();
    const parts = options.partitions ?? t.partitions.map((_, i) => i);
    const snapshot = parts.map((p) => t.partitions[p]!.slice());
    const total = snapshot.reduce((a, l) => a + l.length, 0);
    let scanned = 0;
    let read = 0;
    for (const log of snapshot) {
      for (let i = 0; i < log.length; i += 1000) {
        if (options.signal?.aborted) throw new BusError('read cancelled', false, options.signal.reason);
        const chunk = log.slice(i, i + 1000);
        scanned += chunk.length;
        const inRange = chunk.filter((m) => m.timestampMs >= fromMs && m.timestampMs < toMs);
        read += inRange.length;
        await options.onBatch(inRange, total === 0 ? 1 : scanned / total);
      }
    }
    return { read };
  }

  async partitionsFor(topic: string): Promise<number[]> {
    return this.topicOf(topic).partitions.map((_, i) => i);
  }

  async highWatermarks(topic: string): Promise<Map<number, bigint>> {
    return new Map(this.topicOf(topic).partitions.map((log, p) => [p, BigInt(log.length)]));
  }

  async offsetsForTime(topic: string, timestampMs: number): Promise<Map<number, bigint>> {
    return new Map(
      this.topicOf(topic).partitions.map((log, p) => {
        const i = log.findIndex((m) => m.timestampMs >= timestampMs);
        return [p, BigInt(i === -1 ? log.length : i)];
      }),
    );
  }

  async ping(): Promise<boolean> {
    return !this.closed;
  }

  async close(): Promise<void> {
    for (const g of this.groups.values()) for (const m of g.members) m.running = false;
    this.closed = true;
  }

  /** Test helper: every message on a topic, partition by partition. */
  messages(topic: string): IncomingMessage[] {
    return this.topicOf(topic).partitions.flat();
  }
}

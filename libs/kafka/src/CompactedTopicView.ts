import type { EventBus, Follower, IncomingMessage } from './EventBus';

/** How long an idle view's fetch waits at the broker (see SubscribeOptions.fetchMaxWaitMs). */
const VIEW_FETCH_MAX_WAIT_MS = 500;

export interface CompactedTopicViewOptions<T> {
  topic: string;
  /** Decodes a message; return undefined to ignore it. An empty value is a tombstone (the key is deleted). */
  decode(message: IncomingMessage): T | undefined;
  /**
   * What the view is for (`pipeline-gateway-ml-jobs`): the name of its reader (EventBus.follow),
   * which joins no consumer group, so the label of its metrics. Each instance reads the whole topic.
   */
  groupPrefix: string;
  /**
   * Whether `next` replaces `current` for a key (default: always — the latest message wins, as
   * compaction does). E.g. snapshots keep the one that has consumed more of its input.
   */
  accept?(current: T, next: T): boolean;
  /**
   * Whether a tombstone deletes `key` (default: always, as compaction does). Returning false keeps
   * `current` — e.g. the model registry ignores a tombstone that is not preceded by a signed
   * withdrawal — and `onUpdate` is not called.
   */
  acceptTombstone?(key: string, current: T | undefined): boolean;
  /** Called after each applied update. */
  onUpdate?(key: string, value: T | undefined): void;
  /** Awaited after each fetched batch, before the next is read: backpressure for a consumer that works on later turns. */
  afterBatch?(): Promise<void>;
}

/**
 * A materialized view of a compacted topic: the latest value per key, kept current by a reader
 * of the whole topic from the beginning outside any consumer group (EventBus.follow), so every
 * replica of a service sees every key and no throw-away group is left on the broker or in the lag
 * metrics. Used for aggregator snapshots, job status and the model registry.
 */
export class CompactedTopicView<T> {
  private readonly values = new Map<string, T>();
  /** Next offset to read per partition. */
  private readonly positions = new Map<number, bigint>();
  private reader: Follower | undefined;
  private waiters: Array<() => void> = [];

  constructor(
    /** Also what a subclass writes its own keys through. */
    protected readonly bus: EventBus,
    private readonly opts: CompactedTopicViewOptions<T>,
  ) {}

  /**
   * A view that keeps nothing itself and hands every message to `onMessage` (a tombstone as a
   * null value), for readers that build their own state from the topic, e.g. reassembling chunks.
   */
  static forwarding(bus: EventBus, opts: { topic: string; groupPrefix: string; onMessage(key: string, value: Buffer | null): void; afterBatch?(): Promise<void> }): CompactedTopicView<never> {
    return new CompactedTopicView<never>(bus, {
      topic: opts.topic,
      groupPrefix: opts.groupPrefix,
      afterBatch: opts.afterBatch,
      decode: (m) => {
        opts.onMessage(m.key!, m.value);
        return undefined;
      },
      onUpdate: (key) => opts.onMessage(key, null),
    });
  }

  async start(): Promise<void> {
    this.reader = await this.bus.follow({
      topic: this.opts.topic,
      name: this.opts.groupPrefix,
      // Compacted topics change rarely: an idle view polls twice a second instead of 20 times
      // (~1 MB/s less garbage in every service with a view); updates still arrive at once.
      fetchMaxWaitMs: VIEW_FETCH_MAX_WAIT_MS,
      handler: async (batch) => {
        for (const m of batch.messages) {
          if (m.key === null) continue;
          if (m.value.length === 0) {
            if (this.opts.acceptTombstone && !this.opts.acceptTombstone(m.key, this.values.get(m.key))) continue;
            this.values.delete(m.key);
            this.opts.onUpdate?.(m.key, undefined);
            continue;
          }
          const v = this.opts.decode(m);
          if (v === undefined) continue;
          const current = this.values.get(m.key);
          if (current !== undefined && this.opts.accept && !this.opts.accept(current, v)) continue;
          this.values.set(m.key, v);
          this.opts.onUpdate?.(m.key, v);
        }
        const last = batch.messages[batch.messages.length - 1];
        if (last) this.positions.set(batch.partition, BigInt(last.offset) + 1n);
        const w = this.waiters;
        this.waiters = [];
        for (const f of w) f();
        await this.opts.afterBatch?.();
      },
    });
  }

  get(key: string): T | undefined {
    return this.values.get(key);
  }

  entries(): IterableIterator<[string, T]> {
    return this.values.entries();
  }

  get size(): number {
    return this.values.size;
  }

  /**
   * Resolves once the view has read everything written to the topic before this call (read-your-
   * writes for a caller that just published). Rejects after `timeoutMs`.
   */
  async catchUp(timeoutMs = 10_000): Promise<void> {
    const targets = await this.bus.highWatermarks(this.opts.topic);
    const deadline = Date.now() + timeoutMs;
    const behind = () => [...targets].some(([p, hw]) => hw > 0n && (this.positions.get(p) ?? 0n) < hw);
    while (behind()) {
      if (Date.now() > deadline) throw new Error(`view of ${this.opts.topic} did not catch up within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<void> {
    await this.reader?.stop();
  }
}

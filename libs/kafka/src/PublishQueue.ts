import type { OutgoingMessage } from './EventBus';
import { BusError } from './errors';

export interface PublishQueueOptions {
  /** How long a lone `publish` waits for company before its request goes out (ms). */
  lingerMs: number;
  /** Most messages in one request. */
  maxBatchMessages: number;
  /** Most bytes of keys and values in one request; a larger single message goes alone. */
  maxBatchBytes: number;
  /** Sends one request; resolves when the broker acknowledged all of it. */
  send(messages: readonly OutgoingMessage[]): Promise<void>;
}

interface Pending {
  message: OutgoingMessage;
  resolve(): void;
  reject(e: Error): void;
}

/**
 * Application-side batching in front of a producer: concurrent publishes (e.g. several HTTP
 * requests of 1,000 events) share requests of up to `maxBatchMessages` and `maxBatchBytes`.
 * One request at a time, in queue order: a request that is retried can never be overtaken by a
 * later one with the same keys, so per-key order holds across requests; what queues meanwhile goes
 * out as the next (larger) request as soon as this one settles. Both Kafka adapters (KafkaJsBus,
 * PlatformaticBus) publish through it.
 */
export class PublishQueue {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly opts: PublishQueueOptions) {}

  publish(message: OutgoingMessage): Promise<void> {
    if (this.closed) return Promise.reject(new BusError('bus is closed', false));
    const done = new Promise<void>((resolve, reject) => this.queue.push({ message, resolve, reject }));
    this.schedule();
    return done;
  }

  /** Resolves when all are stored; rejects with the first failure if any could not be. */
  async publishBatch(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.closed) throw new BusError('bus is closed', false);
    if (messages.length === 0) return;
    const done: Promise<void>[] = [];
    for (const message of messages) done.push(new Promise<void>((resolve, reject) => this.queue.push({ message, resolve, reject })));
    this.schedule();
    const results = await Promise.allSettled(done);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Refuses new messages and waits until everything queued was sent (or failed). */
  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
  }

  /** Waits until everything queued was sent (or failed), still taking new messages, which it waits for too. */
  async drain(): Promise<void> {
    this.flush();
    while (this.inFlight || this.queue.length > 0) {
      if (!this.inFlight) this.flush();
      await this.inFlight;
    }
  }

  private schedule(): void {
    if (this.queue.length >= this.opts.maxBatchMessages) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.opts.lingerMs);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inFlight) return;
    let take = 0;
    let bytes = 0;
    while (take < this.queue.length && take < this.opts.maxBatchMessages) {
      const m = this.queue[take]!.message;
      bytes += Buffer.byteLength(m.value) + (m.key ? Buffer.byteLength(m.key) : 0);
      if (take > 0 && bytes > this.opts.maxBatchBytes) break;
      take++;
    }
    const batch = this.queue.splice(0, take);
    if (batch.length === 0) return;
    this.inFlight = this.opts
      .send(batch.map((b) => b.message))
      .then(
        () => batch.forEach((b) => b.resolve()),
        (e: Error) => batch.forEach((b) => b.reject(e)),
      )
      .finally(() => {
        this.inFlight = undefined;
        if (this.queue.length > 0) this.flush();
      });
  }
}

import type { BrokerHealth } from './BrokerHealth';
import type { BusObserver } from './EventBus';
import { BusError, BusUnavailableError, toBusError, withRetries } from './errors';

export interface ProduceWithDeadlineOptions {
  /** Give up after this long (ms) and reject with BusUnavailableError. */
  publishTimeoutMs: number;
  /** Told of every acknowledged produce and every one that gave up; its finding the brokers down ends the produce at once. */
  health: BrokerHealth;
  observer?: BusObserver;
}

/**
 * One produce request of both Kafka adapters: `attempt` is retried with backoff (100 ms doubling to
 * 2 s) until `publishTimeoutMs`, or until `health` finds the brokers down (a retriable failure
 * starts its probe); while they are known down it fails at once. A retriable failure becomes BusUnavailableError (the broker is reported down);
 * any other failure is rethrown as its BusError. The observer hears `published` or
 * `publishFailed` per topic with `countsByTopic`, e.g. a request of 3 events and 1 snapshot:
 * `{ 'pipeline.events' → 3, 'pipeline.snapshots' → 1 }`.
 */
export async function produceWithDeadline(attempt: () => Promise<unknown>, countsByTopic: ReadonlyMap<string, number>, options: ProduceWithDeadlineOptions): Promise<void> {
  const { publishTimeoutMs, health, observer } = options;
  let total = 0;
  for (const n of countsByTopic.values()) total += n;
  const deadline = Date.now() + publishTimeoutMs;
  let timeout: NodeJS.Timeout | undefined;
  let cancelDown: () => void = () => undefined;
  let lastRetriable: unknown;
  let answered = false;
  const attemptAndProbe = () => {
    // Once this produce was answered (the brokers were found down), it is not tried again behind the caller's back.
    if (answered) return Promise.reject(new BusError('produce abandoned: it was answered as failed', false));
    return attempt().catch((e: unknown) => {
      if (toBusError(e).retriable) void health.check();
      throw e;
    });
  };
  try {
    // Known down: fail at once (nothing was taken), rather than at publishTimeoutMs.
    health.throwIfDown();
    await Promise.race([
      withRetries(attemptAndProbe, { retries: 20, baseMs: 100, maxMs: 2_000, deadlineMs: deadline })
        // A retriable failure whose next retry would not fit before the deadline waits for it:
        // the publish then fails at publishTimeoutMs, with that error as the cause, however the
        // retries and the deadline happened to fall.
        .catch((e: unknown) => {
          if (!toBusError(e).retriable) throw e;
          lastRetriable = e;
          return new Promise<never>(() => undefined);
        }),
      new Promise<never>((_, reject) => {
        timeout = setTimeout(() => reject(new BusUnavailableError(`Kafka did not acknowledge ${total} message(s) within ${publishTimeoutMs} ms — retry later`, { cause: lastRetriable })), publishTimeoutMs);
        cancelDown = health.whenDown(reject);
      }),
    ]);
    health.succeeded();
    for (const [topic, n] of countsByTopic) observer?.published?.(topic, n);
  } catch (e) {
    const err = toBusError(e);
    const final = err.retriable && !(err instanceof BusUnavailableError) ? new BusUnavailableError(`Kafka is unavailable; ${total} message(s) were not acknowledged — retry later`, { cause: e }) : err;
    if (final instanceof BusUnavailableError) health.failed();
    for (const [topic, n] of countsByTopic) observer?.publishFailed?.(topic, n, final);
    throw final;
  } finally {
    answered = true;
    if (timeout) clearTimeout(timeout);
    cancelDown();
  }
}

import type { BusObserver } from './EventBus';
import { BusUnavailableError, toBusError, withRetries } from './errors';

export interface ProduceWithDeadlineOptions {
  /** Give up after this long (ms) and reject with BusUnavailableError. */
  publishTimeoutMs: number;
  observer?: BusObserver;
}

/**
 * One produce request of both Kafka adapters: `attempt` is retried with backoff (100 ms doubling to
 * 2 s) until `publishTimeoutMs`. A retriable failure becomes BusUnavailableError (the broker is
 * reported down); any other failure is rethrown as its BusError. The observer hears `published` or
 * `publishFailed` per topic with `countsByTopic`, e.g. a request of 3 events and 1 snapshot:
 * `{ 'pipeline.events' → 3, 'pipeline.snapshots' → 1 }`.
 */
export async function produceWithDeadline(attempt: () => Promise<unknown>, countsByTopic: ReadonlyMap<string, number>, options: ProduceWithDeadlineOptions): Promise<void> {
  const { publishTimeoutMs, observer } = options;
  let total = 0;
  for (const n of countsByTopic.values()) total += n;
  const deadline = Date.now() + publishTimeoutMs;
  let timeout: NodeJS.Timeout | undefined;
  let lastRetriable: unknown;
  try {
    await Promise.race([
      withRetries(attempt, { retries: 20, baseMs: 100, maxMs: 2_000, deadlineMs: deadline })
        // A retriable failure whose next retry would not fit before the deadline waits for it:
        // the publish then fails at publishTimeoutMs, with that error as the cause, however the
        // retries and the deadline happened to fall.
        .catch((e: unknown) => {
          if (!toBusError(e).retriable) throw e;
          lastRetriable = e;
          return new Promise<never>(() => undefined);
        }),
      new Promise<never>((_, reject) => {
        timeout = setTimeout(() => reject(new BusUnavailableError(`Kafka did not acknowledge ${total} message(s) within ${publishTimeoutMs} ms`, lastRetriable)), publishTimeoutMs);
      }),
    ]);
    observer?.brokerUp?.(true);
    for (const [topic, n] of countsByTopic) observer?.published?.(topic, n);
  } catch (e) {
    const err = toBusError(e);
    const final = err.retriable && !(err instanceof BusUnavailableError) ? new BusUnavailableError(`Kafka is unavailable: ${err.message}`, e) : err;
    if (final instanceof BusUnavailableError) observer?.brokerUp?.(false);
    for (const [topic, n] of countsByTopic) observer?.publishFailed?.(topic, n, final);
    throw final;
  } finally {
    if (timeout) clearTimeout(timeout);
  }
}

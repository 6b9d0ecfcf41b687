import { ContractError, normalizeEvent, type EventEnvelope } from '@pipeline/contracts';

export interface Rejection {
  index: number;
  error: string;
}

export interface AcceptedEvent {
  /** Its place in the whole request. */
  index: number;
  event: EventEnvelope;
  /** The serialized envelope, as it goes on the topic. */
  json: string;
}

/** Kafka's default max.message.bytes is ~1 MB; an event must fit in one record with headroom. */
export const MAX_EVENT_BYTES = 900_000;

/**
 * Validates a slice of a request's events. Valid ones come back as full envelopes; invalid ones as
 * `{index, error}` with the index in the whole request (partial failure is data, not an exception).
 * An event stamped more than `maxFutureSkewMs` ahead of `nowMs` is invalid (its error names the
 * timestamp and the allowed skew): it would otherwise be counted as a future event, never aggregated.
 */
export function acceptEvents(raw: readonly unknown[], firstIndex: number, nowMs: number, source: string, maxFutureSkewMs?: number): { valid: AcceptedEvent[]; rejected: Rejection[]; invalidJson: number } {
  const valid: AcceptedEvent[] = [];
  const rejected: Rejection[] = [];
  let invalidJson = 0;
  for (let i = 0; i < raw.length; i++) {
    const item = raw[i];
    if (item instanceof ParseFailure) {
      rejected.push({ index: firstIndex + i, error: item.parseError });
      if (item.invalidJson) invalidJson++;
      continue;
    }
    try {
      const event = normalizeEvent(item, { nowMs, defaultSource: source, maxFutureSkewMs });
      const json = JSON.stringify(event);
      if (json.length > MAX_EVENT_BYTES) throw new ContractError(`event is ${json.length} bytes serialized; the limit is ${MAX_EVENT_BYTES}`, '');
      valid.push({ index: firstIndex + i, event, json });
    } catch (e) {
      if (!(e instanceof ContractError)) throw e;
      rejected.push({ index: firstIndex + i, error: e.message });
    }
  }
  return { valid, rejected, invalidJson };
}

/** How many rejections an answer lists (the first ones by index); `rejected_count` has them all. */
export const MAX_REJECTIONS_REPORTED = 100;

/**
 * The rejections of one request: the first MAX_REJECTIONS_REPORTED kept to answer with, all of them
 * counted (in total and by reason), so a request of many bad events gets a small answer.
 */
export class Rejections {
  readonly first: Rejection[] = [];
  count = 0;
  invalidJson = 0;

  /** Adds a slice's rejections, `invalidJson` of which were lines that are not JSON. */
  add(list: readonly Rejection[], invalidJson = 0): void {
    this.invalidJson += invalidJson;
    for (const r of list) {
      this.count++;
      if (this.first.length < MAX_REJECTIONS_REPORTED) this.first.push(r);
    }
  }

  /** The answer's fields: `rejected` (the first ones) and `rejected_count` (all). */
  report(): { rejected: Rejection[]; rejected_count: number } {
    return { rejected: this.first, rejected_count: this.count };
  }
}

/** Stands in for an NDJSON line that was not JSON, so it is rejected by its index like any bad event. */
export class ParseFailure {
  constructor(
    readonly parseError: string,
    /** The line is not JSON at all (counted as reason `invalid_json`, not `schema`). */
    readonly invalidJson: boolean,
  ) {}
}

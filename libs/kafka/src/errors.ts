import { describePlatformaticError, platformaticAuthenticationFailed, platformaticRetriable } from './platformaticErrors';

/**
 * Bus errors carry one flag retry code reads: `retriable`. A retriable error (broker unreachable,
 * leader moving, timeout) may succeed if tried again later; a non-retriable one (message too large,
 * unknown topic, authorization) will not, and is surfaced at once.
 */
export class BusError extends Error {
  constructor(
    message: string,
    readonly retriable: boolean,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'BusError';
  }
}

/** The bus did not take the messages in time (e.g. Kafka is down); the caller should answer 503. */
export class BusUnavailableError extends BusError {
  constructor(message: string, cause?: unknown) {
    super(message, true, cause);
    this.name = 'BusUnavailableError';
  }
}

/**
 * Kafka refused this client's login: wrong or unknown SASL credentials, a mechanism the listener
 * does not take, or no login where the listener requires one. Not retriable: trying again with the
 * same credentials fails the same way, so a service should stop and say so rather than retry.
 */
export class BusAuthenticationError extends BusError {
  constructor(message: string, cause?: unknown) {
    super(message, false, cause);
    this.name = 'BusAuthenticationError';
  }
}

const NON_RETRIABLE_KAFKA = new Set([
  'MESSAGE_TOO_LARGE',
  'INVALID_TOPIC_EXCEPTION',
  'RECORD_LIST_TOO_LARGE',
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'INVALID_RECORD',
  'UNSUPPORTED_VERSION',
  // Topics are provisioned at start and auto-creation is off: an unknown topic will not appear by retrying.
  'UNKNOWN_TOPIC_OR_PARTITION',
]);

/** kafkajs errors that mean "the cluster is unreachable or busy right now": worth retrying later. */
const TRANSIENT_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSTimeout',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSStaleTopicMetadataAssignment',
]);

/**
 * Classifies a kafkajs, @platformatic/kafka (or any) error. kafkajs marks its errors with
 * `retriable`, `type` and `name`; @platformatic/kafka with `code`, `apiId` and `canRetry` (see
 * platformaticErrors.ts). Both adapters give the same kinds the same flag.
 */
export function toBusError(error: unknown): BusError {
  if (error instanceof BusError) return error;
  if (platformaticAuthenticationFailed(error)) return new BusAuthenticationError(`Kafka refused the SASL login: ${describePlatformaticError(error)}`, error);
  if (kafkaJsAuthenticationFailed(error)) return new BusAuthenticationError(`Kafka refused the SASL login: ${(error as Error).message}`, error);
  const platformatic = platformaticRetriable(error, NON_RETRIABLE_KAFKA);
  if (platformatic !== undefined) return new BusError(describePlatformaticError(error)!, platformatic, error);
  const e = error as { message?: string; retriable?: boolean; type?: string; name?: string; cause?: unknown };
  const message = e?.message ?? String(error);
  if (e?.type && NON_RETRIABLE_KAFKA.has(e.type)) return new BusError(message, false, error);
  if (e?.name && TRANSIENT_NAMES.has(e.name)) return new BusError(message, true, error);
  // kafkajs wraps connection failures in KafkaJSNonRetriableError once its own retries ran out;
  // the network being down is still transient for us.
  if (/ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|Connection error|Connection timeout/.test(message)) return new BusError(message, true, error);
  // KafkaJSNumberOfRetriesExceeded (raised when kafkajs's own retries ran out) is as transient as its cause.
  if (e?.cause && e.cause !== error) return new BusError(message, toBusError(e.cause).retriable, error);
  if (typeof e?.retriable === 'boolean') return new BusError(message, e.retriable, error);
  return new BusError(message, false, error);
}

/** kafkajs's SASL failure, possibly wrapped by its retrier (KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded). */
function kafkaJsAuthenticationFailed(error: unknown, depth = 0): boolean {
  const e = error as { name?: string; type?: string; cause?: unknown; originalError?: unknown } | null;
  if (!e || depth > 5) return false;
  if (e.name === 'KafkaJSSASLAuthenticationError' || e.type === 'SASL_AUTHENTICATION_FAILED' || e.type === 'UNSUPPORTED_SASL_MECHANISM' || e.type === 'ILLEGAL_SASL_STATE') return true;
  return [e.cause, e.originalError].some((c) => c !== undefined && c !== error && kafkaJsAuthenticationFailed(c, depth + 1));
}

/**
 * Exponential backoff with full jitter: attempt n waits a random time in [0, min(max, base·2^n)].
 * Only retriable errors are retried.
 */
export async function withRetries<T>(
  op: () => Promise<T>,
  opts: { retries: number; baseMs: number; maxMs: number; deadlineMs?: number; random?: () => number; sleep?: (ms: number) => Promise<void> },
): Promise<T> {
  const random = opts.random ?? Math.random;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      const busError = toBusError(err);
      if (!busError.retriable || attempt >= opts.retries) throw busError;
      const wait = random() * Math.min(opts.maxMs, opts.baseMs * 2 ** attempt);
      if (opts.deadlineMs !== undefined && Date.now() + wait > opts.deadlineMs) throw busError;
      await sleep(wait);
    }
  }
}

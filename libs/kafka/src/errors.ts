import { PipelineError } from '@pipeline/contracts';
import { describePlatformaticError, platformaticAuthenticationFailed, platformaticHasApiError, platformaticRetriable } from './platformaticErrors';

/**
 * Bus errors carry the flag retry code reads: `retriable`. A retriable error (broker unreachable,
 * leader moving, timeout) may succeed if tried again later; a non-retriable one (message too large,
 * unknown topic, authorization) will not, and is surfaced at once.
 */
export class BusError extends PipelineError {
  constructor(message: string, retriable: boolean, cause?: unknown, code = 'kafka_error') {
    super(code, message, { retriable, cause });
  }
}

/** The bus did not take the messages (Kafka is down, or was not reachable in time): HTTP 503 + Retry-After. The message is written for clients. */
export class BusUnavailableError extends BusError {
  constructor(message: string, options: { cause?: unknown; details?: unknown } = {}) {
    super(message, true, options.cause, 'kafka_unavailable');
    if (options.details !== undefined) Object.defineProperty(this, 'details', { value: options.details, enumerable: true });
  }
}

/**
 * Kafka refused this client's login: wrong or unknown SASL credentials, a mechanism the listener
 * does not take, or no login where the listener requires one. Not retriable: trying again with the
 * same credentials fails the same way, so a service should stop and say so rather than retry.
 */
export class BusAuthenticationError extends BusError {
  constructor(message: string, cause?: unknown) {
    super(message, false, cause, 'kafka_authentication_failed');
  }
}

/** A message (or the batch holding it) is larger than the topic's `max.message.bytes`. Not retriable. */
export class BusMessageTooLargeError extends BusError {
  constructor(message: string, cause?: unknown) {
    super(message, false, cause, 'kafka_message_too_large');
  }
}

const TOO_LARGE_KAFKA = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

const NON_RETRIABLE_KAFKA = new Set([
  ...TOO_LARGE_KAFKA,
  'INVALID_TOPIC_EXCEPTION',
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

/** Node's network error codes (`err.code`): the broker cannot be reached now, which is transient. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE']);

interface KafkaJsLike {
  message?: string;
  retriable?: boolean;
  type?: string;
  name?: string;
  code?: unknown;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown[];
}

/**
 * The error and every error it wraps (kafkajs: KafkaJSNonRetriableError's `originalError`,
 * KafkaJSNumberOfRetriesExceeded's `cause`, KafkaJSAggregateError's `errors`).
 */
function wrapped(error: unknown, depth = 0): KafkaJsLike[] {
  const e = error as KafkaJsLike | null;
  if (!e || typeof e !== 'object' || depth > 5) return [];
  const inner = [e.cause, e.originalError, ...(Array.isArray(e.errors) ? e.errors : [])];
  return [e, ...inner.filter((c) => c !== undefined && c !== error).flatMap((c) => wrapped(c, depth + 1))];
}

/** Whether a kafkajs or @platformatic/kafka error holds the Kafka error `name` (e.g. TOPIC_ALREADY_EXISTS) at any depth. */
export function hasKafkaError(error: unknown, name: string): boolean {
  return platformaticHasApiError(error, new Set([name])) || wrapped(error).some((e) => e.type === name);
}

/**
 * Classifies a kafkajs, @platformatic/kafka (or any) error by its fields, never its message text.
 * kafkajs marks its errors with `retriable`, `type` and `name` (and wraps them when its own retries
 * ran out: the network being down is still transient for us); @platformatic/kafka with `code`,
 * `apiId` and `canRetry` (see platformaticErrors.ts). Both adapters give the same kinds the same class.
 */
export function toBusError(error: unknown): BusError {
  if (error instanceof BusError) return error;
  if (platformaticAuthenticationFailed(error)) return new BusAuthenticationError(`Kafka refused the SASL login: ${describePlatformaticError(error)}`, error);
  const chain = wrapped(error);
  const message = chain[0]?.message ?? String(error);
  if (chain.some((e) => e.name === 'KafkaJSSASLAuthenticationError' || e.type === 'SASL_AUTHENTICATION_FAILED' || e.type === 'UNSUPPORTED_SASL_MECHANISM' || e.type === 'ILLEGAL_SASL_STATE')) {
    return new BusAuthenticationError(`Kafka refused the SASL login: ${message}`, error);
  }
  const platformatic = platformaticRetriable(error, NON_RETRIABLE_KAFKA);
  if (platformatic !== undefined) {
    const description = describePlatformaticError(error)!;
    return platformaticHasApiError(error, TOO_LARGE_KAFKA) ? new BusMessageTooLargeError(description, error) : new BusError(description, platformatic, error);
  }
  if (chain.some((e) => e.type !== undefined && TOO_LARGE_KAFKA.has(e.type))) return new BusMessageTooLargeError(message, error);
  if (chain.some((e) => e.type !== undefined && NON_RETRIABLE_KAFKA.has(e.type))) return new BusError(message, false, error);
  if (chain.some((e) => (e.name !== undefined && TRANSIENT_NAMES.has(e.name)) || (typeof e.code === 'string' && NETWORK_CODES.has(e.code)))) return new BusError(message, true, error);
  return new BusError(message, chain.some((e) => e.retriable === true), error);
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

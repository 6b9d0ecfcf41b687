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

/**
 * TLS to the brokers failed in a way retrying cannot mend: the broker's certificate was not
 * accepted (not signed by a CA this client trusts, expired, or not naming the broker's address),
 * the listener does not speak TLS while this client does, or it speaks TLS while this client does
 * not (see explainRefusal). A service should stop and say so rather than retry: the CA bundle is
 * read once at start.
 */
export class BusTlsError extends BusError {
  constructor(message: string, cause?: unknown) {
    super(message, false, cause, 'kafka_tls_failed');
  }
}

/**
 * Node's codes (`err.code`) for a broker certificate it would not accept, and what each means
 * (node:tls, after OpenSSL's X509_V_ERR_* names; ERR_TLS_CERT_ALTNAME_INVALID is Node's own
 * check of the host name or IP address against the certificate's subjectAltName).
 */
const TLS_CERTIFICATE_PROBLEMS: Record<string, string> = {
  // The usual one: no `ca` given (Node's trusted CAs), or the wrong one.
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'it is not signed by a CA this client trusts',
  UNABLE_TO_GET_ISSUER_CERT: 'it is not signed by a CA this client trusts',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'it is not signed by a CA this client trusts',
  SELF_SIGNED_CERT_IN_CHAIN: 'it is not signed by a CA this client trusts (its chain ends in a self-signed CA the client was not given)',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'it is self-signed and this client was not given it as a CA',
  CERT_UNTRUSTED: 'it is not trusted for this purpose',
  CERT_REJECTED: 'it is rejected for this purpose',
  INVALID_CA: 'a CA certificate in its chain is not valid as a CA',
  INVALID_PURPOSE: 'it is not valid for a TLS server',
  CERT_SIGNATURE_FAILURE: 'its signature does not verify',
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: 'its signature does not verify',
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: "its issuer's public key cannot be read",
  CERT_HAS_EXPIRED: 'it has expired',
  CERT_NOT_YET_VALID: 'it is not valid yet',
  ERROR_IN_CERT_NOT_BEFORE_FIELD: 'its validity period cannot be read',
  ERROR_IN_CERT_NOT_AFTER_FIELD: 'its validity period cannot be read',
  CERT_REVOKED: 'it has been revoked',
  CERT_CHAIN_TOO_LONG: 'its chain is too long',
  PATH_LENGTH_EXCEEDED: 'its chain is longer than a CA in it allows',
  HOSTNAME_MISMATCH: "it does not name the broker's address",
  ERR_TLS_CERT_ALTNAME_INVALID: "it does not name the broker's address (subjectAltName)",
};

/** A refused broker certificate (at any depth) as BusTlsError, or undefined when the error is not one. */
function certificateRefused(chain: readonly KafkaJsLike[], error: unknown): BusTlsError | undefined {
  const code = chain.map((e) => e.code).find((c): c is string => typeof c === 'string' && Object.hasOwn(TLS_CERTIFICATE_PROBLEMS, c));
  if (code === undefined) return undefined;
  return new BusTlsError(`Kafka's TLS certificate was not accepted: ${TLS_CERTIFICATE_PROBLEMS[code]} (${code}); retrying will not help`, error);
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
 * `apiId` and `canRetry` (see platformaticErrors.ts); both keep Node's TLS error `code`, which
 * makes a certificate failure a BusTlsError. Both adapters give the same kinds the same class.
 */
export function toBusError(error: unknown): BusError {
  if (error instanceof BusError) return error;
  const tls = certificateRefused(wrapped(error), error);
  if (tls) return tls;
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

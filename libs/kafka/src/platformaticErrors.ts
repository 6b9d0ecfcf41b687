/**
 * Retriability of @platformatic/kafka errors, read from their fields (no import of the library, so
 * the kafkajs path never loads it). Its errors carry `code` 'PLT_KFK_*'; a broker error is a
 * ProtocolError with `apiId` (the Kafka error name, e.g. UNKNOWN_TOPIC_OR_PARTITION) and `canRetry`;
 * a failed request to several brokers, or one retried several times, is a MultipleErrors whose
 * `errors` hold the causes.
 *
 * Rules, the same as for kafkajs errors: a Kafka error in `nonRetriable` is never retriable
 * (whatever else failed with it); network errors and request timeouts are retriable (the library
 * marks timeouts `canRetry: false` because it will not repeat the request itself, but a broker that
 * answers slowly now may answer later); otherwise the library's `canRetry`; a MultipleErrors is
 * retriable when any cause is.
 *
 * Returns undefined for an error that is not the library's.
 */
export function platformaticRetriable(error: unknown, nonRetriable: ReadonlySet<string>): boolean | undefined {
  if (!isPlatformaticError(error)) return undefined;
  if (platformaticHasApiError(error, nonRetriable)) return false;
  return leafErrors(error).some((e) => e.code === 'PLT_KFK_NETWORK' || e.code === 'PLT_KFK_TIMEOUT' || e.canRetry === true);
}

/** Whether the library's error holds a broker error (at any depth) whose Kafka name is in `names`, e.g. MESSAGE_TOO_LARGE. */
export function platformaticHasApiError(error: unknown, names: ReadonlySet<string>): boolean {
  return isPlatformaticError(error) && leafErrors(error).some((e) => typeof e.apiId === 'string' && names.has(e.apiId));
}

/**
 * Whether the library's error (at any depth) is a refused SASL login: its AuthenticationError
 * (PLT_KFK_AUTHENTICATION), or the broker's SASL_AUTHENTICATION_FAILED / UNSUPPORTED_SASL_MECHANISM
 * / ILLEGAL_SASL_STATE. The library wraps these in a retriable network error ("Connection to … failed").
 */
export function platformaticAuthenticationFailed(error: unknown, depth = 0): boolean {
  if (!isPlatformaticError(error) || depth > 6) return false;
  if (error.code === 'PLT_KFK_AUTHENTICATION' || (error.apiId !== undefined && SASL_ERRORS.has(error.apiId))) return true;
  return [...(error.errors ?? []), error.cause].some((c) => platformaticAuthenticationFailed(c, depth + 1));
}

const SASL_ERRORS = new Set(['SASL_AUTHENTICATION_FAILED', 'UNSUPPORTED_SASL_MECHANISM', 'ILLEGAL_SASL_STATE']);

/** "Producing messages failed. (UNKNOWN_TOPIC_OR_PARTITION: This server does not host this topic-partition.)" */
export function describePlatformaticError(error: unknown): string | undefined {
  if (!isPlatformaticError(error)) return undefined;
  const leaves = leafErrors(error).filter((e) => e !== error);
  if (leaves.length === 0) return error.message;
  const causes = [...new Set(leaves.map((e) => (e.apiId ? `${e.apiId}: ${e.message}` : e.message)))];
  return `${error.message} (${causes.join('; ')})`;
}

interface PlatformaticError {
  code: string;
  message: string;
  apiId?: string;
  canRetry?: boolean;
  errors?: unknown[];
  cause?: unknown;
}

function isPlatformaticError(error: unknown): error is PlatformaticError {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('PLT_KFK_');
}

/** The error itself when it has no causes; otherwise the causes that are the library's, recursively. */
function leafErrors(error: PlatformaticError, depth = 0): PlatformaticError[] {
  const children = [...(error.errors ?? []), error.cause].filter(isPlatformaticError);
  if (children.length === 0 || depth > 5) return [error];
  return children.flatMap((c) => leafErrors(c, depth + 1));
}

import { status, type ServerErrorResponse } from '@grpc/grpc-js';
import { PipelineError } from '@pipeline/contracts';

/** Receives unexpected errors (with their stack) that clients only see as INTERNAL. */
export type ErrorLogger = (err: unknown, method: string) => void;

/** The gRPC status of each PipelineError code the client may see; any other code is INTERNAL. */
const STATUS_BY_CODE: Readonly<Record<string, status>> = {
  invalid_argument: status.INVALID_ARGUMENT,
  not_found: status.NOT_FOUND,
  not_ready: status.UNAVAILABLE,
  kafka_unavailable: status.UNAVAILABLE,
  deadline_exceeded: status.DEADLINE_EXCEEDED,
  cancelled: status.CANCELLED,
};

/**
 * Maps any thrown value to the status sent to the client — the only place that does so.
 * - A `PipelineError` whose code is in STATUS_BY_CODE keeps its message (written for the client).
 * - An `AbortError` becomes CANCELLED.
 * - Anything else becomes INTERNAL "internal error"; the original goes to `log`, never to the client.
 */
export function toGrpcError(err: unknown, method: string, log: ErrorLogger): ServerErrorResponse {
  const code = err instanceof PipelineError ? STATUS_BY_CODE[err.code] : undefined;
  if (code !== undefined) return { name: (err as Error).name, message: (err as Error).message, code, details: (err as Error).message };
  if (err instanceof Error && err.name === 'AbortError') {
    return { name: 'CancelledError', message: 'request cancelled', code: status.CANCELLED, details: 'request cancelled' };
  }
  log(err, method);
  return { name: 'InternalError', message: 'internal error', code: status.INTERNAL, details: 'internal error' };
}

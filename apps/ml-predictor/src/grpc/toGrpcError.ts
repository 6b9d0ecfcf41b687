import { status, type ServerErrorResponse } from '@grpc/grpc-js';
import { PredictorError } from './errors';

/** Receives unexpected errors (with their stack) that clients only see as INTERNAL. */
export type ErrorLogger = (err: unknown, method: string) => void;

/**
 * Maps any thrown value to the status sent to the client — the only place that does so.
 * - `PredictorError` keeps its code and message (they are written for the client).
 * - An `AbortError` becomes CANCELLED.
 * - Anything else becomes INTERNAL "internal error"; the original goes to `log`, never to the client.
 */
export function toGrpcError(err: unknown, method: string, log: ErrorLogger): ServerErrorResponse {
  if (err instanceof PredictorError) return { name: err.name, message: err.message, code: err.code, details: err.message };
  if (err instanceof Error && err.name === 'AbortError') {
    return { name: 'CancelledError', message: 'request cancelled', code: status.CANCELLED, details: 'request cancelled' };
  }
  log(err, method);
  return { name: 'InternalError', message: 'internal error', code: status.INTERNAL, details: 'internal error' };
}

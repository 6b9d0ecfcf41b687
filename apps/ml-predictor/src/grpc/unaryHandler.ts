import type { handleUnaryCall, ServerUnaryCall } from '@grpc/grpc-js';
import { CancelledError, DeadlineExceededError } from './errors';
import { toGrpcError, type ErrorLogger } from './toGrpcError';

/** What the handlers read of a grpc-js call besides its request. */
type CallState = Pick<ServerUnaryCall<unknown, unknown>, 'cancelled' | 'getDeadline'>;

/**
 * Throws CANCELLED if the client went away, DEADLINE_EXCEEDED if its deadline has passed. Call it
 * before heavy work (decoding, predict): grpc-js drops a late answer anyway, so the work is wasted.
 */
export function assertCallAlive(call: CallState): void {
  if (call.cancelled) throw new CancelledError();
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  if (ms !== Infinity && Date.now() >= ms) throw new DeadlineExceededError();
}

/**
 * Adapts `run` (returns the response or throws) to a grpc-js unary handler; every thrown value goes
 * through `toGrpcError`, so handlers never build a status themselves.
 */
export function unaryHandler<Req, Res>(method: string, log: ErrorLogger, run: (request: Req, call: CallState) => Res): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    let response: Res;
    try {
      assertCallAlive(call);
      response = run(call.request, call);
    } catch (err) {
      callback(toGrpcError(err, method, log));
      return;
    }
    callback(null, response);
  };
}

import type { handleUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { CancelledError, DeadlineExceededError } from './errors';
import { toGrpcError, type ErrorLogger } from './toGrpcError';

/**
 * What a unary handler reads of its call: grpc-js's `ServerUnaryCall` has it, and so does the call
 * object of the Predict fast path (GrpcFront), so one handler serves both.
 */
export interface UnaryCallContext<Req> {
  readonly request: Req;
  readonly cancelled: boolean;
  getDeadline(): Date | number;
}

/** A unary handler as grpc-js calls it, over the part of the call it uses. */
export type UnaryHandler<Req, Res> = (call: UnaryCallContext<Req>, callback: sendUnaryData<Res>) => void;

/** A generated grpc-js service interface with its unary methods typed as {@link UnaryHandler}s. */
export type UnaryHandlersOf<S> = { [K in keyof S]: S[K] extends handleUnaryCall<infer Req, infer Res> ? UnaryHandler<Req, Res> : S[K] };

/**
 * Throws CANCELLED if the client went away, DEADLINE_EXCEEDED if its deadline has passed. Call it
 * before heavy work (decoding, predict): grpc-js drops a late answer anyway, so the work is wasted.
 */
export function assertCallAlive(call: UnaryCallContext<unknown>): void {
  if (call.cancelled) throw new CancelledError();
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  if (ms !== Infinity && Date.now() >= ms) throw new DeadlineExceededError();
}

/**
 * Adapts `run` (returns the response or throws) to a grpc-js unary handler; every thrown value goes
 * through `toGrpcError`, so handlers never build a status themselves.
 */
export function unaryHandler<Req, Res>(
  method: string,
  log: ErrorLogger,
  run: (request: Req, call: UnaryCallContext<Req>) => Res,
): UnaryHandler<Req, Res> {
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

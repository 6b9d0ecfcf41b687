import * as grpc from '@grpc/grpc-js';
import type { ReadBudget } from './ReadBudget';

/**
 * A server interceptor that makes every call wait for a slot of `budget` before its request is read.
 * grpc-js keeps a call's HTTP/2 stream paused until the handler's first startRead, which it makes on
 * receiving the metadata; holding the metadata back therefore leaves the request with the client
 * (flow control: one stream window, 64 KiB, is buffered here). The slot is released at half-close
 * (the whole request has arrived: every method here takes one request message) or when the call
 * ends; a call still receiving its request `budget`'s read timeout after admission ends with
 * RESOURCE_EXHAUSTED. Health calls take slots too: they are unauthenticated and may carry up to the
 * size limit.
 * Install it after the token interceptor, so a call refused for its token never queues.
 */
export function readBudgetInterceptor(budget: ReadBudget): grpc.ServerInterceptor {
  return (_method, call) => {
    let release = () => undefined as void;
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next(
          new grpc.ServerListenerBuilder()
            .withOnReceiveMetadata((metadata, mdNext) => {
              release = budget.acquire(
                call.getPeer(),
                () => mdNext(metadata),
                () =>
                  call.sendStatus({
                    code: grpc.status.RESOURCE_EXHAUSTED,
                    details: `request not received within ${budget.readTimeoutMs} ms of the server starting to read it`,
                    metadata: new grpc.Metadata(),
                  }),
              );
            })
            .withOnReceiveHalfClose((next) => {
              release();
              next();
            })
            .withOnCancel(() => release())
            .build(),
        ),
      sendStatus: (status, next) => {
        release();
        next(status);
      },
    });
  };
}

import { constants as http2constants, type ServerHttp2Stream } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import type { ReadBudget } from './ReadBudget';
import type { ErrorLogger } from './toGrpcError';

/**
 * A server interceptor that makes every call wait for a slot of `budget` before its request is read.
 * grpc-js keeps a call's HTTP/2 stream paused until the handler's first startRead, which it makes on
 * receiving the metadata; holding the metadata back therefore leaves the request with the client
 * (flow control: one stream window, 64 KiB, is buffered here). The slot is released at half-close
 * (the whole request has arrived: every method here takes one request message) or when the call
 * ends; a call still receiving its request `budget`'s read timeout after admission ends with
 * RESOURCE_EXHAUSTED.
 *
 * A call that ends before its request has fully arrived (read timeout, deadline, a refused token)
 * also gets its stream reset with RST_STREAM(NO_ERROR) after the status, as RFC 9113 §8.1 allows.
 * grpc-js (1.14) does not: it keeps such a stream open, and with it the part of the message already
 * read, for as long as the client keeps sending — a caller could hold every expired call's bytes.
 * grpc-js exposes no stream to interceptors, so this one reads it from the call it wraps, which
 * must be grpc-js's own (BaseServerInterceptingCall): install it first. If a grpc-js upgrade moves
 * the stream, `log` is told once per call and the reset is skipped (readBudget.spec.ts fails).
 *
 * Every call takes a slot, Health included (unauthenticated, and up to the size limit too); a call
 * whose token is refused holds it only until the token interceptor's status.
 */
export function readBudgetInterceptor(budget: ReadBudget, log: ErrorLogger): grpc.ServerInterceptor {
  return (method, call) => {
    const stream = http2StreamOf(call);
    let release = () => undefined as void;
    let requestComplete = false;
    /** Ends the call's reading: frees the slot, and resets a stream whose request is unfinished. */
    const end = () => {
      release();
      if (requestComplete) return;
      requestComplete = true;
      if (stream) stream.close(http2constants.NGHTTP2_NO_ERROR);
      else log(new Error('cannot reset the HTTP/2 stream of a call that ended before its request arrived: grpc-js no longer passes its stream to the first interceptor'), method.path);
    };
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
              requestComplete = true;
              release();
              next();
            })
            // grpc-js reports every end of a call here, after its status if one was sent (Node then
            // writes the RST_STREAM once the response is out).
            .withOnCancel(end)
            .build(),
        ),
    });
  };
}

/** The HTTP/2 stream grpc-js's BaseServerInterceptingCall keeps in its private `stream` field, if `call` is one. */
function http2StreamOf(call: grpc.ServerInterceptingCallInterface): ServerHttp2Stream | undefined {
  const stream = (call as unknown as { stream?: Partial<ServerHttp2Stream> }).stream;
  return typeof stream?.close === 'function' && typeof stream.respond === 'function' ? (stream as ServerHttp2Stream) : undefined;
}

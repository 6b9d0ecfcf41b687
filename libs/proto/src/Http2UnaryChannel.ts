import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { grpcFrame } from './grpcFrame';
import { releaseListenersOnClose } from './releaseListenersOnClose';

/** Failure of a call on {@link Http2UnaryChannel}, shaped like grpc-js's `ServiceError`. */
export class UnaryCallError extends Error implements ServiceError {
  readonly metadata = new Metadata();
  constructor(
    readonly code: status,
    readonly details: string,
  ) {
    super(`${code} ${status[code] ?? 'UNKNOWN'}: ${details}`);
    this.name = 'UnaryCallError';
  }
}

export interface Http2UnaryChannelOptions {
  /** Largest response message accepted, in bytes; a larger one fails with RESOURCE_EXHAUSTED. */
  maxReceiveMessageBytes: number;
}

/** HTTP status of a non-gRPC answer → gRPC code, as the gRPC HTTP/2 spec maps it. */
function codeForHttpStatus(httpStatus: number): status {
  if (httpStatus === 400) return status.INTERNAL;
  if (httpStatus === 401) return status.UNAUTHENTICATED;
  if (httpStatus === 403) return status.PERMISSION_DENIED;
  if (httpStatus === 404) return status.UNIMPLEMENTED;
  if (httpStatus === 429 || httpStatus === 502 || httpStatus === 503 || httpStatus === 504) return status.UNAVAILABLE;
  return status.UNKNOWN;
}

/** The `grpc-timeout` header for a deadline `ms` from now: at most 8 digits, in milliseconds or, when longer, seconds. */
export function grpcTimeout(ms: number): string {
  const millis = Math.max(1, Math.ceil(ms));
  return millis <= 99_999_999 ? `${millis}m` : `${Math.min(99_999_999, Math.ceil(millis / 1000))}S`;
}

const decodeMessage = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/**
 * Unary gRPC calls over one plaintext HTTP/2 connection (h2c), with nothing else in the way: per call
 * one HTTP/2 stream, the request as one length-prefixed message, `grpc-timeout` from the deadline, and
 * the answer's `grpc-status`/`grpc-message` turned into a {@link UnaryCallError}. The connection is
 * opened on first use and again after it closes (predictor restart, GOAWAY); calls in flight on a
 * connection that fails end with UNAVAILABLE, like grpc-js's.
 *
 * Why not grpc-js here: api-gateway makes one unary call per REST predict, and grpc-js's client stack
 * (resolver, load balancer, interceptors, retry and filter layers) cost ~200 µs of CPU and tens of KB of
 * garbage per call against ~130 µs for the bare HTTP/2 call (bench/ml-serving). What grpc-js adds
 * beyond this — TLS credentials, name resolution with several addresses, retries, compression — is not
 * used by that call; {@link createPredictorClient} keeps grpc-js for TLS. One difference to know: grpc-js
 * retries a call the server refused without processing (REFUSED_STREAM, or past a GOAWAY's last stream)
 * on a new connection by itself; this channel fails it with UNAVAILABLE (the gateway answers 503 with
 * Retry-After), so during a predictor's rolling restart a few requests may need the caller's retry.
 */
export class Http2UnaryChannel {
  private session: ClientHttp2Session | undefined;
  private closed = false;

  constructor(
    private readonly address: string,
    private readonly options: Http2UnaryChannelOptions,
  ) {}

  /** Calls `path` with the encoded request message; resolves with the encoded response message. */
  call(path: string, request: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new UnaryCallError(status.UNAVAILABLE, 'channel closed'));
      if (!(timeoutMs > 0)) return reject(new UnaryCallError(status.DEADLINE_EXCEEDED, `deadline of ${timeoutMs} ms already passed`));
      const frame = grpcFrame(request);
      let stream: ClientHttp2Stream;
      try {
        stream = this.connect().request({
          ':method': 'POST',
          ':path': path,
          'content-type': 'application/grpc',
          te: 'trailers',
          'grpc-timeout': grpcTimeout(timeoutMs),
        });
      } catch (e) {
        this.session = undefined;
        return reject(new UnaryCallError(status.UNAVAILABLE, `connection to ${this.address} failed: ${(e as Error).message}`));
      }
      releaseListenersOnClose(stream); // what the listeners hold (this promise, the caller awaiting it) dies young
      let settled = false;
      const settle = (err: UnaryCallError | undefined, message?: Uint8Array) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        if (err) {
          if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
          reject(err);
        } else resolve(message!);
      };
      const deadline = setTimeout(() => settle(new UnaryCallError(status.DEADLINE_EXCEEDED, `deadline of ${timeoutMs} ms exceeded`)), timeoutMs);
      let headers: IncomingHttpHeaders | undefined;
      let trailers: IncomingHttpHeaders | undefined;
      const chunks: Buffer[] = [];
      let received = 0;
      stream.on('response', (h) => (headers = h));
      stream.on('trailers', (t) => (trailers = t));
      stream.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > this.options.maxReceiveMessageBytes + 5) {
          settle(new UnaryCallError(status.RESOURCE_EXHAUSTED, `response larger than ${this.options.maxReceiveMessageBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      stream.on('error', (e: Error) => settle(new UnaryCallError(status.UNAVAILABLE, `connection to ${this.address} failed: ${e.message}`)));
      stream.on('close', () => {
        if (settled) return;
        settle(...this.outcome(headers, trailers, chunks, received, stream.rstCode));
      });
      stream.end(frame);
    });
  }

  /** Closes the connection; later calls fail with UNAVAILABLE. */
  close(): void {
    this.closed = true;
    this.session?.close();
    this.session = undefined;
  }

  private connect(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = http2.connect(`http://${this.address}`);
    const forget = () => {
      if (this.session === session) this.session = undefined;
    };
    session.on('error', forget); // each stream reports its own failure
    session.on('goaway', forget);
    session.on('close', forget);
    session.unref(); // an idle channel does not keep the process alive (as a grpc-js channel)
    this.session = session;
    return session;
  }

  /** What a stream that closed before the deadline amounts to: [error] or [undefined, message]. */
  private outcome(
    headers: IncomingHttpHeaders | undefined,
    trailers: IncomingHttpHeaders | undefined,
    chunks: Buffer[],
    received: number,
    rstCode: number,
  ): [UnaryCallError | undefined, Uint8Array?] {
    if (!headers) {
      const refused = rstCode === http2.constants.NGHTTP2_REFUSED_STREAM;
      return [new UnaryCallError(refused ? status.UNAVAILABLE : status.INTERNAL, `stream closed without a response (HTTP/2 code ${rstCode})`)];
    }
    const httpStatus = Number(headers[':status']);
    const grpcStatus = trailers?.['grpc-status'] ?? headers['grpc-status']; // trailers-only answers carry it in the headers
    if (grpcStatus === undefined) {
      if (httpStatus !== 200) return [new UnaryCallError(codeForHttpStatus(httpStatus), `HTTP ${httpStatus} from ${this.address}`)];
      return [new UnaryCallError(status.INTERNAL, `no grpc-status in the answer (HTTP/2 code ${rstCode})`)];
    }
    const code = Number(grpcStatus) as status;
    if (code !== status.OK) {
      const message = trailers?.['grpc-message'] ?? headers['grpc-message'];
      return [new UnaryCallError(code, decodeMessage(String(message ?? '')))];
    }
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
    if (body.length < 5) return [new UnaryCallError(status.UNIMPLEMENTED, 'no message received')];
    if (body[0] !== 0) return [new UnaryCallError(status.INTERNAL, 'compressed response without a negotiated encoding')];
    const length = body.readUInt32BE(1);
    if (length !== body.length - 5) return [new UnaryCallError(status.INTERNAL, `response of ${body.length - 5} bytes framed as ${length}`)];
    return [undefined, body.subarray(5)];
  }
}

import { ServerCredentials, status, type MethodDefinition, type Server, type ServerErrorResponse, type sendUnaryData } from '@grpc/grpc-js';
import http2, {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { duplexPair } from 'node:stream';
import { grpcFrame } from './grpcFrame';
import { releaseListenersOnClose } from './releaseListenersOnClose';

/**
 * What a unary handler reads of its call: grpc-js's `ServerUnaryCall` has it, and so does the call
 * object of the {@link GrpcFront} fast path, so one handler serves both.
 */
export interface UnaryCallContext<Req> {
  readonly request: Req;
  readonly cancelled: boolean;
  getDeadline(): Date | number;
}

/** A unary handler as grpc-js calls it, over the part of the call it uses. */
export type UnaryHandler<Req, Res> = (call: UnaryCallContext<Req>, callback: sendUnaryData<Res>) => void;

/** A unary method the front answers itself: its generated definition (path, codecs) and its handler. */
export interface FastUnaryRoute<Req = unknown, Res = unknown> {
  definition: MethodDefinition<Req, Res>;
  handler: UnaryHandler<Req, Res>;
}

export interface GrpcFrontOptions {
  /** The grpc-js server that answers every call the front does not (health, listings, KServe metadata…). */
  grpcServer: Server;
  routes: FastUnaryRoute[];
  /** Largest request message accepted on the fast path, in bytes (grpc-js's limit applies to the rest). */
  maxReceiveMessageBytes: number;
}

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_FLAG_END_STREAM } = http2.constants;
/** grpc-timeout: up to 8 digits and a unit (gRPC over HTTP/2 spec); same pattern as grpc-js's server. */
const TIMEOUT = /(\d{1,8})\s*([HMSmun])/;
const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
const noop = () => undefined;

/**
 * A gRPC port (plaintext HTTP/2): a plain node:http2 server that answers the hot unary methods (Predict,
 * ModelInfer) itself and hands every other stream to the grpc-js server unchanged.
 *
 * Why (ml-predictor): at 1,000 one-row predictions per second, grpc-js's server allocated ~16 KB per
 * call of the predictor's ~28 KB (sampling heap profile, bench/ml-serving), and that garbage — part of
 * it promoted — is what the predictor's p99 waits on (scavenges, old-generation collections). The fast path runs
 * the same handler on a stream it reads and answers directly: one length-prefixed message in, the
 * response and `grpc-status` trailers out, errors as trailers-only responses, `grpc-timeout` honoured
 * as the handler's deadline. Anything it does not take on — other methods, compressed requests
 * (`grpc-encoding` other than identity), non-gRPC requests — goes to grpc-js over an in-process HTTP/2
 * connection (grpc-js `createConnectionInjector` + a `duplexPair`), headers, messages, trailers,
 * cancellation and flow control included, so grpc-js keeps its behaviour there (health Watch streams,
 * UNIMPLEMENTED for unknown methods, decompression).
 */
export class GrpcFront {
  private readonly routes: Map<string, FastUnaryRoute>;
  private readonly server: http2.Http2Server;
  private readonly sessions = new Set<ServerHttp2Session>();
  private injector: ReturnType<Server['createConnectionInjector']> | undefined;
  private upstream: ClientHttp2Session | undefined;
  private closing = false;

  constructor(private readonly opts: GrpcFrontOptions) {
    this.routes = new Map(opts.routes.map((r) => [r.definition.path, r]));
    // As grpc-js's own server: no cap on buffered session memory (message size limits apply instead).
    this.server = http2.createServer({ maxSessionMemory: Number.MAX_SAFE_INTEGER });
    this.server.on('session', (session) => {
      this.sessions.add(session);
      session.on('error', noop); // streams report their own failures
      session.once('close', () => this.sessions.delete(session));
    });
    this.server.on('stream', (stream, headers) => this.onStream(stream, headers));
  }

  /** Listens on `host:port` (0 = a free port); resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /**
   * Stops accepting connections, lets open streams finish (GOAWAY) for up to `graceMs`, then resets
   * what is left. The grpc-js server behind is shut down by its owner.
   */
  close(graceMs: number): Promise<void> {
    this.closing = true;
    return new Promise((resolve) => {
      const force = setTimeout(() => {
        for (const s of this.sessions) s.destroy();
        this.upstream?.destroy();
      }, graceMs);
      force.unref();
      this.server.close(() => {
        clearTimeout(force);
        this.upstream?.close();
        resolve();
      });
      for (const s of this.sessions) s.close();
    });
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', noop); // a reset by the client surfaces here; the stream is done either way
    releaseListenersOnClose(stream); // the call's objects die young instead of with the stream object
    const route = this.routes.get(headers[':path'] ?? '');
    const contentType = headers['content-type'];
    const encoding = headers['grpc-encoding'];
    const plainGrpc =
      headers[':method'] === 'POST' &&
      typeof contentType === 'string' &&
      contentType.startsWith('application/grpc') &&
      (encoding === undefined || encoding === 'identity');
    if (route && plainGrpc) this.serveUnary(stream, headers, route);
    else this.forward(stream, headers);
  }

  /** Reads one message, runs the handler, answers. Status details match grpc-js's where it has one. */
  private serveUnary(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, route: FastUnaryRoute): void {
    const path = route.definition.path;
    let deadline = Infinity;
    const timeout = headers['grpc-timeout'];
    if (timeout !== undefined) {
      const m = TIMEOUT.exec(String(timeout));
      if (!m) return endWithStatus(stream, status.INTERNAL, `Invalid grpc-timeout value "${timeout}"`);
      // No `| 0` as in grpc-js's server: it wraps timeouts over ~24.8 days (e.g. "2592000S") to negative ones.
      deadline = Date.now() + Number(m[1]) * UNIT_MS[m[2]!]!;
    }
    const max = this.opts.maxReceiveMessageBytes;
    const chunks: Buffer[] = [];
    let received = 0;
    let declared = -1; // the message's length from its 5-byte prefix, once that has arrived
    let done = false;
    stream.on('data', (chunk: Buffer) => {
      if (done) return;
      chunks.push(chunk);
      received += chunk.length;
      if (received < 5) return;
      if (declared < 0) declared = (chunks.length === 1 ? chunk : Buffer.concat(chunks, received)).readUInt32BE(1);
      if (declared > max) {
        done = true;
        endWithStatus(stream, status.RESOURCE_EXHAUSTED, `Received message larger than max (${declared} vs ${max})`);
      } else if (received > declared + 5) {
        done = true;
        endWithStatus(stream, status.UNIMPLEMENTED, `Received a second request message for unary method ${path}`);
      }
    });
    stream.on('end', () => {
      if (done) return;
      done = true;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
      if (body.length < 5) return endWithStatus(stream, status.UNIMPLEMENTED, `Received no request message for unary method ${path}`);
      if (body[0] !== 0) return endWithStatus(stream, status.INTERNAL, 'Received compressed message but "grpc-encoding" header was identity');
      if (body.readUInt32BE(1) !== body.length - 5) return endWithStatus(stream, status.INTERNAL, 'Received a truncated request message');
      let request: unknown;
      try {
        request = route.definition.requestDeserialize(body.subarray(5));
      } catch {
        return endWithStatus(stream, status.INTERNAL, 'Error deserializing request');
      }
      const call = {
        request,
        get cancelled() {
          return stream.closed || stream.destroyed;
        },
        getDeadline: () => deadline,
      };
      try {
        route.handler(call, respond);
      } catch {
        // Handlers report failures through the callback; one that throws anyway must not take the process down.
        endWithStatus(stream, status.INTERNAL, 'internal error');
      }
    });
    const respond = (err: Partial<ServerErrorResponse> | null, response?: unknown): void => {
      if (stream.closed || stream.destroyed || stream.headersSent) return; // client gone, or answered already
      if (err) return endWithStatus(stream, err.code ?? status.UNKNOWN, err.details ?? err.message ?? '');
      let message: Buffer;
      try {
        message = route.definition.responseSerialize(response);
      } catch {
        return endWithStatus(stream, status.INTERNAL, 'Error serializing response');
      }
      const frame = grpcFrame(message);
      stream.respond({ ':status': 200, 'content-type': 'application/grpc+proto', 'grpc-accept-encoding': 'identity' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'OK' }));
      stream.end(frame);
    };
  }

  /** Relays a stream to grpc-js and its answer back: headers, messages both ways, trailers, resets. */
  private forward(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    let up: ClientHttp2Stream;
    try {
      up = this.connectUpstream().request(requestHeaders(headers));
    } catch {
      return endWithStatus(stream, status.UNAVAILABLE, 'server is shutting down');
    }
    up.on('error', noop); // its 'close' says what happened
    releaseListenersOnClose(up);
    let responded = false;
    let trailers: OutgoingHttpHeaders = {};
    up.on('response', (h, flags) => {
      if (stream.closed || stream.destroyed) return;
      responded = true;
      if (flags & NGHTTP2_FLAG_END_STREAM) {
        stream.respond(h, { endStream: true }); // trailers-only answer
        return;
      }
      stream.respond(h, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers(trailers));
      up.pipe(stream);
    });
    up.on('trailers', (t) => (trailers = t));
    stream.pipe(up);
    stream.once('close', () => {
      if (!up.closed) up.close(NGHTTP2_CANCEL); // client cancelled: grpc-js sees the call cancelled
    });
    up.once('close', () => {
      if (stream.closed || stream.destroyed) return;
      if (!responded) endWithStatus(stream, status.UNAVAILABLE, `call ended before an answer (HTTP/2 code ${up.rstCode})`);
      else if (up.rstCode !== NGHTTP2_NO_ERROR) stream.close(up.rstCode);
    });
  }

  /** The in-process HTTP/2 connection to grpc-js (opened on first use, again after it closes). */
  private connectUpstream(): ClientHttp2Session {
    if (this.upstream && !this.upstream.closed && !this.upstream.destroyed) return this.upstream;
    if (this.closing) throw new Error('closing'); // no new connection to a grpc-js server that is shutting down
    const injector = (this.injector ??= this.opts.grpcServer.createConnectionInjector(ServerCredentials.createInsecure()));
    const session = http2.connect('http://in-process', {
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
      createConnection: () => {
        const [ours, theirs] = duplexPair();
        injector.injectConnection(theirs);
        return ours;
      },
    });
    session.on('error', noop);
    session.once('close', () => {
      if (this.upstream === session) this.upstream = undefined;
    });
    this.upstream = session;
    return session;
  }
}

/** The client's request headers for the upstream request: pseudo-headers other than method and path are the connection's. */
function requestHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(':') && name !== ':method' && name !== ':path') continue;
    out[name] = value;
  }
  return out;
}

/** grpc-message encoding (gRPC over HTTP/2 spec): UTF-8, every byte outside printable ASCII, and '%', as %XX. */
function percentEncode(text: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(text)) return text;
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** Answers with status only (a trailers-only response) and stops reading the request. */
function endWithStatus(stream: ServerHttp2Stream, code: number, details: string): void {
  if (stream.closed || stream.destroyed) return;
  if (!stream.headersSent) {
    stream.respond(
      { ':status': 200, 'content-type': 'application/grpc+proto', 'grpc-status': String(code), 'grpc-message': percentEncode(details) },
      { endStream: true },
    );
  }
  // The client may still be sending (an oversized message): tell it to stop once the answer is out.
  if (!stream.readableEnded) stream.close(NGHTTP2_NO_ERROR);
}

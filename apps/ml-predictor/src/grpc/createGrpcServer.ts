import * as grpc from '@grpc/grpc-js';
import { GRPCInferenceServiceService, HealthService, PredictorServiceService } from '@pipeline/proto';
import { SecretSet, bearerToken } from '@pipeline/service-runtime';
import { createHealthService } from './createHealthService';
import { createInferenceService } from './createInferenceService';
import { createPredictorService } from './createPredictorService';
import type { ModelCatalog } from './ModelCatalog';
import type { PredictObserver } from './PredictObserver';
import { ReadBudget } from './ReadBudget';
import { readBudgetInterceptor } from './readBudgetInterceptor';
import type { ErrorLogger } from './toGrpcError';

export interface GrpcServerOptions {
  /** Models to serve. */
  catalog: ModelCatalog;
  /** Called once per Predict / ModelInfer with its duration in seconds (see PredictObserver). */
  onPredict?: PredictObserver;
  /**
   * Largest request accepted, in bytes; larger ones fail with RESOURCE_EXHAUSTED before decoding.
   * Default: grpc-js's 4 MiB (about 500k FP64 values).
   */
  maxReceiveMessageBytes?: number;
  /**
   * Most memory Node's HTTP/2 session of one connection may hold, in MB (grpc-node.max_session_memory:
   * nghttp2's buffers, header tables and frames queued to a client that does not read); past it, new
   * streams on that connection are refused (RST_STREAM ENHANCE_YOUR_CALM, which a grpc-js client sees
   * as RESOURCE_EXHAUSTED). grpc-js sets no limit by default. Default 10.
   * It does not count request bytes grpc-js has read off the socket; maxConcurrentReads bounds those.
   */
  maxSessionMemoryMb?: number;
  /**
   * Most calls receiving their request at once, across all connections (a ReadBudget: the others wait
   * with their bytes left in the client, fair across connections). Request bytes being received stay
   * under maxConcurrentReads × maxReceiveMessageBytes (64 MiB at the defaults); as much again may
   * await V8's collection after a round of expired calls. Default 16.
   */
  maxConcurrentReads?: number;
  /**
   * Longest a call may take to send its request once it may (ms); then it ends with
   * RESOURCE_EXHAUSTED, so a slow sender cannot hold a read slot. Default 10000.
   */
  readTimeoutMs?: number;
  /**
   * Internal service token(s) (INTERNAL_TOKEN_FILE): when set, every call except grpc.health.v1.Health
   * must carry metadata `authorization: Bearer <one of them>`, else UNAUTHENTICATED. Health stays open
   * for probes. Default: no check.
   */
  internalTokens?: readonly string[];
  /** Receives unexpected errors with their stack; clients only see INTERNAL "internal error". Default: console.error. */
  log?: ErrorLogger;
  /** Version reported by KServe ServerMetadata. Default "0.0.0". */
  serverVersion?: string;
  /** How often open health Watch streams re-check readiness, in milliseconds. Default 1000. */
  healthPollMs?: number;
}

export interface GrpcServer {
  /** Listens on `host:port` (port 0 picks a free one), plaintext, and resolves with the bound port. */
  start(host: string, port: number): Promise<number>;
  /** Health status switch: false reports NOT_SERVING (e.g. while draining) even if models are ready. */
  setServing(serving: boolean): void;
  /**
   * Reports NOT_SERVING, ends health Watch streams, lets in-flight calls finish for up to `graceMs`
   * milliseconds, then cancels what is left.
   */
  stop(graceMs: number): Promise<void>;
}

/**
 * grpc-js server options every predictor uses.
 * - At most 100 concurrent calls per connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS; grpc-js sets
 *   no limit by default): a client that opens more waits for a free stream instead of piling work on
 *   the event loop. A Predict call takes well under a millisecond, so 100 in flight is plenty.
 * - channelz (grpc-js's introspection registry) is off: nothing here serves it.
 */
export const GRPC_SERVER_OPTIONS: grpc.ServerOptions = { 'grpc.max_concurrent_streams': 100, 'grpc.enable_channelz': 0 };

/** Default per-connection memory bound (grpc-node.max_session_memory, MB). */
export const DEFAULT_MAX_SESSION_MEMORY_MB = 10;

/** grpc-js's default limit on a received message (4 MiB). */
const DEFAULT_MAX_RECEIVE_BYTES = 4 * 1024 * 1024;

/** Default process-wide read budget: 16 calls receiving at once, 10 s each at most. */
export const DEFAULT_MAX_CONCURRENT_READS = 16;
export const DEFAULT_READ_TIMEOUT_MS = 10_000;

/** Fully qualified names of the services this server runs, as health checks name them. */
export const SERVICE_NAMES = ['ml.v1.PredictorService', 'inference.GRPCInferenceService', 'grpc.health.v1.Health'];

/**
 * gRPC server of ml-predictor: ml.v1.PredictorService, the KServe Open Inference Protocol v2
 * (inference.GRPCInferenceService) and grpc.health.v1.Health on one port, all over `catalog`.
 * Health is SERVING when `setServing` is true (the initial value) and `catalog.isReady()`.
 * One grpc-js server answers every call; it enforces the message size limit (RESOURCE_EXHAUSTED) and
 * the client's deadline (DEADLINE_EXCEEDED), and the handlers skip work for a call already dead.
 * Requests are read within a process-wide ReadBudget (maxConcurrentReads, readTimeoutMs).
 */
export function createGrpcServer(opts: GrpcServerOptions): GrpcServer {
  const log: ErrorLogger = opts.log ?? ((err, method) => console.error(`grpc ${method} failed`, err));
  let serving = true;
  const isServing = () => serving && opts.catalog.isReady();
  const maxReceiveMessageBytes = opts.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_BYTES;
  const budget = new ReadBudget({ maxConcurrentReads: opts.maxConcurrentReads ?? DEFAULT_MAX_CONCURRENT_READS, readTimeoutMs: opts.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS });

  const server = new grpc.Server({
    ...GRPC_SERVER_OPTIONS,
    'grpc.max_receive_message_length': maxReceiveMessageBytes,
    'grpc-node.max_session_memory': opts.maxSessionMemoryMb ?? DEFAULT_MAX_SESSION_MEMORY_MB,
    // The read budget first: it needs grpc-js's own call (readBudgetInterceptor). A call refused for
    // its token holds its read slot only until that status, having sent nothing that is read.
    interceptors: [readBudgetInterceptor(budget, log), ...(opts.internalTokens ? [requireTokenInterceptor(new SecretSet(opts.internalTokens))] : [])],
  });
  const health = createHealthService({ services: SERVICE_NAMES, isServing, log, pollMs: opts.healthPollMs });
  const predictor = createPredictorService(opts.catalog, log, opts.onPredict);
  const inference = createInferenceService({
    catalog: opts.catalog,
    isServing: () => serving,
    log,
    serverName: 'ml-predictor',
    serverVersion: opts.serverVersion ?? '0.0.0',
    onPredict: opts.onPredict,
  });
  server.addService(PredictorServiceService, predictor);
  server.addService(GRPCInferenceServiceService, inference);
  server.addService(HealthService, health.implementation);

  return {
    start: (host, port) =>
      new Promise((resolve, reject) => {
        const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`; // IPv6 literals in brackets
        server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
      }),
    setServing: (value) => {
      serving = value;
      health.refresh();
    },
    stop: async (graceMs) => {
      serving = false;
      health.refresh();
      health.close();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}

/**
 * A server interceptor that checks the call's `authorization` metadata before the request is read:
 * a call without a valid internal token ends with UNAUTHENTICATED and never reaches a handler.
 * grpc.health.v1.Health is exempt (kubelet and load balancers probe it without credentials).
 */
function requireTokenInterceptor(tokens: SecretSet): grpc.ServerInterceptor {
  return (method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        if (method.path.startsWith('/grpc.health.v1.Health/')) return next();
        next(
          new grpc.ServerListenerBuilder()
            .withOnReceiveMetadata((metadata, mdNext) => {
              const [header] = metadata.get('authorization');
              const presented = bearerToken(typeof header === 'string' ? header : undefined);
              if (presented !== undefined && tokens.indexOf(presented) >= 0) return mdNext(metadata);
              call.sendStatus({
                code: grpc.status.UNAUTHENTICATED,
                details: presented === undefined ? 'missing service token: send metadata authorization: Bearer <token of INTERNAL_TOKEN_FILE>' : 'invalid service token',
                metadata: new grpc.Metadata(),
              });
            })
            .build(),
        );
      },
    });
}

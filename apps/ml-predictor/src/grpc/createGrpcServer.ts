import * as grpc from '@grpc/grpc-js';
import { GRPCInferenceServiceService, HealthService, PredictorServiceService } from '@pipeline/proto';
import { createHealthService } from './createHealthService';
import { createInferenceService } from './createInferenceService';
import { createPredictorService } from './createPredictorService';
import type { ModelCatalog } from './ModelCatalog';
import type { PredictObserver } from './PredictObserver';
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
  /** Receives unexpected errors with their stack; clients only see INTERNAL "internal error". Default: console.error. */
  log?: ErrorLogger;
  /** Version reported by KServe ServerMetadata. Default "0.0.0". */
  serverVersion?: string;
  /** How often open health Watch streams re-check readiness, in milliseconds. Default 1000. */
  healthPollMs?: number;
}

export interface GrpcServer {
  server: grpc.Server;
  /** Binds `host:port` (port 0 picks a free one), plaintext, and resolves with the bound port. */
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
 * grpc-js server options every predictor uses. channelz (grpc-js's introspection registry) is off:
 * nothing here serves it, and it costs a timestamp and counter updates on every call.
 */
export const GRPC_SERVER_OPTIONS: grpc.ServerOptions = { 'grpc.enable_channelz': 0 };

/** Fully qualified names of the services this server runs, as health checks name them. */
export const SERVICE_NAMES = ['ml.v1.PredictorService', 'inference.GRPCInferenceService', 'grpc.health.v1.Health'];

/**
 * gRPC server of ml-predictor: ml.v1.PredictorService, the KServe Open Inference Protocol v2
 * (inference.GRPCInferenceService) and grpc.health.v1.Health on one port, all over `catalog`.
 * Health is SERVING when `setServing` is true (the initial value) and `catalog.isReady()`.
 */
export function createGrpcServer(opts: GrpcServerOptions): GrpcServer {
  const log: ErrorLogger = opts.log ?? ((err, method) => console.error(`grpc ${method} failed`, err));
  let serving = true;
  const isServing = () => serving && opts.catalog.isReady();

  const server = new grpc.Server({
    ...GRPC_SERVER_OPTIONS,
    ...(opts.maxReceiveMessageBytes === undefined ? {} : { 'grpc.max_receive_message_length': opts.maxReceiveMessageBytes }),
  });
  const health = createHealthService({ services: SERVICE_NAMES, isServing, log, pollMs: opts.healthPollMs });
  server.addService(PredictorServiceService, createPredictorService(opts.catalog, log, opts.onPredict));
  server.addService(
    GRPCInferenceServiceService,
    createInferenceService({
      catalog: opts.catalog,
      isServing: () => serving,
      log,
      serverName: 'ml-predictor',
      serverVersion: opts.serverVersion ?? '0.0.0',
      onPredict: opts.onPredict,
    }),
  );
  server.addService(HealthService, health.implementation);

  return {
    server,
    start: (host, port) =>
      new Promise((resolve, reject) => {
        const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
        server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
      }),
    setServing: (value) => {
      serving = value;
      health.refresh();
    },
    stop: (graceMs) => {
      serving = false;
      health.refresh();
      health.close();
      return new Promise((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}

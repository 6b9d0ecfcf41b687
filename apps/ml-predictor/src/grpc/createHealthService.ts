import type { ServerWritableStream } from '@grpc/grpc-js';
import { HealthCheckResponse_ServingStatus as ServingStatus, type HealthCheckRequest, type HealthCheckResponse, type HealthServer } from '@pipeline/proto';
import { UnknownServiceError } from './errors';
import type { ErrorLogger } from './toGrpcError';
import { unaryHandler } from './unaryHandler';

/** grpc.health.v1.Health plus the hooks the server uses to change and end it. */
export interface HealthService {
  implementation: HealthServer;
  /** Re-evaluates every watched status and pushes changes to Watch streams. */
  refresh(): void;
  /** Ends every Watch stream (shutdown would otherwise wait for them) and stops polling. */
  close(): void;
}

/**
 * Standard gRPC health checking. Every name in `services` and the overall name "" report SERVING
 * when `isServing()` is true, NOT_SERVING otherwise; other names are NOT_FOUND for Check and
 * SERVICE_UNKNOWN for Watch. Watch pushes changes on `refresh()`, and also polls every `pollMs`
 * (while at least one stream is open) because `isServing` may depend on state that changes without
 * notice, such as `ModelCatalog.isReady()`.
 */
export function createHealthService(opts: { services: string[]; isServing: () => boolean; log: ErrorLogger; pollMs?: number }): HealthService {
  const known = new Set(['', ...opts.services]);
  const statusOf = (service: string): ServingStatus =>
    !known.has(service) ? ServingStatus.SERVICE_UNKNOWN : opts.isServing() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
  const watchers = new Map<ServerWritableStream<HealthCheckRequest, HealthCheckResponse>, ServingStatus>();
  let timer: NodeJS.Timeout | undefined;

  const refresh = () => {
    for (const [call, last] of watchers) {
      const now = statusOf(call.request.service);
      if (now !== last) {
        watchers.set(call, now);
        call.write({ status: now });
      }
    }
  };
  const stopPolling = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };

  return {
    implementation: {
      check: unaryHandler('grpc.health.v1.Health/Check', opts.log, (request) => {
        const status = statusOf(request.service);
        if (status === ServingStatus.SERVICE_UNKNOWN) throw new UnknownServiceError(request.service);
        return { status };
      }),
      watch: (call) => {
        const now = statusOf(call.request.service);
        watchers.set(call, now);
        call.write({ status: now });
        const forget = () => {
          watchers.delete(call);
          if (watchers.size === 0) stopPolling();
        };
        call.on('cancelled', forget);
        call.on('close', forget);
        if (!timer) {
          timer = setInterval(refresh, opts.pollMs ?? 1000);
          timer.unref();
        }
      },
    },
    refresh,
    close: () => {
      stopPolling();
      for (const call of watchers.keys()) call.end();
      watchers.clear();
    },
  };
}

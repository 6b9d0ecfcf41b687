import { parseApiKeys, type ApiKey } from './auth';
import { ConfigError, envInt, envList, envString, readBaseConfig, type BaseConfig } from '@pipeline/service-runtime';

export interface GatewayConfig extends BaseConfig {
  /**
   * API keys accepted on /pipeline routes (Authorization: Bearer <key> or X-API-Key), each with its
   * scopes and series quota (API_KEYS, see auth.ts parseApiKeys; a key without its own quota has
   * API_KEY_MAX_SERIES, default 0: unlimited). Empty = auth off.
   */
  apiKeys: ApiKey[];
  /** Base URL of the ingest service that POST /pipeline/events forwards to. */
  ingestUrl: string;
  /** host:port of the ml-predictor gRPC server. */
  predictorAddress: string;
  /** JSON body limit for /pipeline routes (bytes), which also bounds the ad-hoc ML calls' rows. Default 10 MiB. */
  bodyLimitBytes: number;
  /** Path of the bundled `adhoc.worker.js` the ad-hoc ML calls run in; empty = on the event loop (tests, embedded fallback). */
  adhocWorkerPath: string;
  /** Requests per second allowed per client (API key or IP), with a burst of 2 s worth. 0 = unlimited. */
  rateLimitPerSec: number;
  /** Consumer group of the aggregator deployment whose snapshots the stats routes serve. */
  aggregatorGroup: string;
  /** How long POST /pipeline/spark/process waits for an inline job before answering 202 (ms). */
  syncWaitMs: number;
  /**
   * POST /pipeline/aggregate answers 400 for a metric stamped more than this many seconds ahead of
   * the gateway's clock (AGG_MAX_FUTURE_SKEW_SECONDS, default 60, the aggregator's setting).
   */
  maxFutureSkewSeconds: number;
}

/** `defaultWorkerPath` is where main.ts knows the ad-hoc worker was bundled (next to itself). */
export function readGatewayConfig(env: Record<string, string | undefined> = process.env, opts: { requireBrokers?: boolean; defaultWorkerPath?: string } = {}): GatewayConfig {
  return {
    ...readBaseConfig(env, 'api-gateway', 8080, opts),
    apiKeys: parseApiKeys(envList(env, 'API_KEYS'), { defaultMaxSeries: envInt(env, 'API_KEY_MAX_SERIES', 0, { min: 0, max: 1_000_000_000 }) }),
    ingestUrl: envString(env, 'INGEST_URL', 'http://127.0.0.1:8081').replace(/\/$/, ''),
    predictorAddress: hostPort(env, 'PREDICTOR_GRPC_ADDR', '127.0.0.1:50051'),
    bodyLimitBytes: envInt(env, 'BODY_LIMIT_BYTES', 10 * 1024 * 1024, { min: 1024 }),
    adhocWorkerPath: envString(env, 'ADHOC_WORKER_PATH', opts.defaultWorkerPath ?? ''),
    rateLimitPerSec: envInt(env, 'RATE_LIMIT_PER_SEC', 0, { min: 0 }),
    aggregatorGroup: envString(env, 'AGG_GROUP_ID', 'pipeline-aggregator'),
    syncWaitMs: envInt(env, 'SYNC_WAIT_MS', 2_000, { min: 0, max: 60_000 }),
    maxFutureSkewSeconds: envInt(env, 'AGG_MAX_FUTURE_SKEW_SECONDS', 60, { min: 0, max: 86_400 }),
  };
}

/** A `host:port` variable (host a name, an IPv4 address or a bracketed IPv6 address; no scheme). */
function hostPort(env: Record<string, string | undefined>, name: string, fallback: string): string {
  const value = envString(env, name, fallback);
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new ConfigError(`${name} must be host:port (e.g. ml-predictor:50051), got ${JSON.stringify(value)}`);
  return value;
}

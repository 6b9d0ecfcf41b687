import type { KeyObject } from 'node:crypto';
import { parseVerifyKeys } from '@pipeline/model-registry';
import { envInt, envPemFile, envString, readBaseConfig, type BaseConfig } from '@pipeline/service-runtime';

export interface PredictorConfig extends BaseConfig {
  /** gRPC port (ml.v1, KServe v2, health); 0 picks a free one (embedded mode). Default 50051. */
  grpcPort: number;
  grpcHost: string;
  /** On shutdown, how long in-flight gRPC calls may finish before they are cancelled (ms). Default 5000. */
  drainGraceMs: number;
  /** Versions kept loaded per model (the newest ones); older versions answer NOT_FOUND. Default 3. */
  maxVersionsPerModel: number;
  /** Largest gRPC request accepted (bytes); larger ones get RESOURCE_EXHAUSTED. Default 4 MiB. */
  maxReceiveMessageBytes: number;
  /** Most memory, in MB, Node's HTTP/2 session of one gRPC connection may hold (grpc-node.max_session_memory). */
  maxSessionMemoryMb: number;
  /**
   * Most gRPC calls receiving their request at once, process-wide; the others wait with their bytes
   * left in the client. Request bytes held stay under about 2 × maxConcurrentReads × maxReceiveMessageBytes
   * (being received, and abandoned by expired calls until V8 collects them: 128 MiB by default, well
   * under the Deployment's 512 Mi; docs/deploy.md "ML services' memory"). Default 16.
   */
  maxConcurrentReads: number;
  /** Longest a call may take to send its request once it may (ms); then RESOURCE_EXHAUSTED. Default 10000. */
  readTimeoutMs: number;
  /** Longest one model version may take to decode in the worker (ms); then the worker is stopped and the version fails. Default 30000. */
  decodeTimeoutMs: number;
  /** Old-generation heap limit of the decode worker (MB); a version that needs more fails. Default 128. */
  decodeMaxHeapMb: number;
  /**
   * At start, how long readiness waits for the models found in the registry to decode (ms); then
   * the predictor is ready with what has decoded, and the rest are served as they finish. Default 10000.
   */
  startupDecodeWaitMs: number;
  /**
   * The trainer public keys a model version must be signed with, by key id (ML_VERIFY_KEYS_FILE:
   * PEM with one or more "PUBLIC KEY" blocks — several while a key is rotated). Versions not signed
   * by one of them are refused and counted. Undefined = not set: versions are served unverified,
   * with a warning at start (embedded mode passes the key its trainer signs with).
   */
  verifyKeys: Map<string, KeyObject> | undefined;
  /** Most model names served (ML_MAX_MODELS); a version of a further name is refused and counted. Default 100. */
  maxModels: number;
}

export function readPredictorConfig(env: Record<string, string | undefined> = process.env, opts: { requireBrokers?: boolean } = {}): PredictorConfig {
  return {
    ...readBaseConfig(env, 'ml-predictor', 8084, opts),
    grpcPort: envInt(env, 'GRPC_PORT', 50051, { min: 0, max: 65535 }),
    grpcHost: envString(env, 'GRPC_HOST', '0.0.0.0'),
    drainGraceMs: envInt(env, 'GRPC_DRAIN_MS', 5_000, { min: 0, max: 600_000 }),
    maxVersionsPerModel: envInt(env, 'ML_MAX_VERSIONS_PER_MODEL', 3, { min: 1, max: 1000 }),
    maxReceiveMessageBytes: envInt(env, 'GRPC_MAX_RECEIVE_BYTES', 4 * 1024 * 1024, { min: 1024 }),
    maxSessionMemoryMb: envInt(env, 'GRPC_MAX_SESSION_MEMORY_MB', 10, { min: 1, max: 65_536 }),
    maxConcurrentReads: envInt(env, 'GRPC_MAX_CONCURRENT_READS', 16, { min: 1, max: 10_000 }),
    readTimeoutMs: envInt(env, 'GRPC_READ_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 }),
    decodeTimeoutMs: envInt(env, 'ML_DECODE_TIMEOUT_MS', 30_000, { min: 100, max: 600_000 }),
    decodeMaxHeapMb: envInt(env, 'ML_DECODE_MAX_HEAP_MB', 128, { min: 16, max: 16_384 }),
    startupDecodeWaitMs: envInt(env, 'ML_STARTUP_DECODE_WAIT_MS', 10_000, { min: 0, max: 600_000 }),
    verifyKeys: envPemFile(env, 'ML_VERIFY_KEYS_FILE', parseVerifyKeys),
    maxModels: envInt(env, 'ML_MAX_MODELS', 100, { min: 1, max: 100_000 }),
  };
}

import type { KeyObject } from 'node:crypto';
import { parseSigningKey } from '@pipeline/model-registry';
import { envInt, envPemFile, envString, readBaseConfig, type BaseConfig } from '@pipeline/service-runtime';

export interface TrainerConfig extends BaseConfig {
  /** Consumer group reading `pipeline.ml.commands`. */
  commandsGroupId: string;
  /** Training jobs run at once in this process (each in its own worker thread). Default 1. */
  maxConcurrentJobs: number;
  /** Path of the bundled `train.worker.js`; empty = train on the main thread (tests, embedded fallback). */
  trainWorkerPath: string;
  /**
   * A job that runs longer than this (ms, from when this trainer starts it: reading, training and
   * publishing) is stopped — its worker thread terminated — and ends `failed` with code
   * `job_timeout`. Each run of a redelivered job gets the full time again. Default 30 min; at most
   * 2,147,483,647 (the range of a Node timer, ~24.8 days).
   */
  jobTimeoutMs: number;
  /** Least time between two progress updates of one job on `pipeline.ml.jobs` (ms). Default 500. */
  progressIntervalMs: number;
  /**
   * Registry retention: after publishing version N of a model, versions below N − keep + 1 are
   * withdrawn (tombstoned). Default 5; must cover the predictors' ML_MAX_VERSIONS_PER_MODEL (3).
   */
  registryKeepVersions: number;
  /** How often a running job heartbeats its consumer group (ms); must be well under the session timeout (30 s). Default 3000. */
  heartbeatIntervalMs: number;
  /**
   * The Ed25519 private key every published model version is signed with (ML_SIGNING_KEY_FILE, a
   * PEM PKCS#8 file); predictors verify it with the matching public key. Undefined = not set: the
   * versions are published unsigned (embedded mode passes a key of its own to createTrainer).
   */
  signingKey: KeyObject | undefined;
  /**
   * Finished jobs (and their results) are deleted this long after they end (ms; JOB_RETENTION_HOURS,
   * whole hours, default 168 = 7 days): each replica sweeps every 10 minutes, writing tombstones.
   */
  jobRetentionMs: number;
}

/** `defaultWorkerPath` is where main.ts knows the worker was bundled (next to itself). */
export function readTrainerConfig(
  env: Record<string, string | undefined> = process.env,
  opts: { requireBrokers?: boolean; defaultWorkerPath?: string } = {},
): TrainerConfig {
  return {
    ...readBaseConfig(env, 'ml-trainer', 8083, opts),
    commandsGroupId: envString(env, 'ML_TRAINER_GROUP_ID', 'pipeline-ml-trainer'),
    maxConcurrentJobs: envInt(env, 'ML_MAX_CONCURRENT_JOBS', 1, { min: 1, max: 64 }),
    trainWorkerPath: envString(env, 'TRAIN_WORKER_PATH', opts.defaultWorkerPath ?? ''),
    jobTimeoutMs: envInt(env, 'ML_JOB_TIMEOUT_MS', 30 * 60_000, { min: 1_000, max: 2_147_483_647 }),
    progressIntervalMs: envInt(env, 'ML_PROGRESS_INTERVAL_MS', 500, { min: 0, max: 60_000 }),
    registryKeepVersions: envInt(env, 'ML_REGISTRY_KEEP_VERSIONS', 5, { min: 1, max: 1_000_000 }),
    heartbeatIntervalMs: envInt(env, 'ML_HEARTBEAT_INTERVAL_MS', 3_000, { min: 100, max: 10_000 }),
    signingKey: envPemFile(env, 'ML_SIGNING_KEY_FILE', parseSigningKey),
    jobRetentionMs: envInt(env, 'JOB_RETENTION_HOURS', 168, { min: 1, max: 87_600 }) * 3_600_000,
  };
}

import { hostname } from 'node:os';
import { envInt, envString, readBaseConfig, type BaseConfig } from '@pipeline/service-runtime';

export interface BatchProcessorConfig extends BaseConfig {
  /** Consumer group of the replicas; commands and tasks are split among its members. */
  groupId: string;
  /** A job not finished this long after a replica took its command is failed with a reason (ms). Default 30 min. */
  jobTimeoutMs: number;
  /** Least time between two progress records of one task (ms). Default 500. */
  progressIntervalMs: number;
  /** How often each replica checks for cancel markers and passed deadlines (ms). Default 1,000. */
  watchdogIntervalMs: number;
  /** Name of this replica in progress records and results (default host/pid). */
  workerId: string;
  /** Path of the bundled `compute.worker.js` the jobs compute in; empty = on the event loop (tests, embedded mode). */
  computeWorkerPath: string;
  /**
   * Finished jobs (and their results) are deleted this long after they end (ms; JOB_RETENTION_HOURS,
   * whole hours, default 168 = 7 days): each replica sweeps every 10 minutes, writing tombstones.
   */
  jobRetentionMs: number;
}

/** `defaultWorkerPath` is where main.ts knows the compute worker was bundled (next to itself). */
export function readBatchProcessorConfig(env: Record<string, string | undefined> = process.env, opts: { requireBrokers?: boolean; defaultWorkerPath?: string } = {}): BatchProcessorConfig {
  return {
    ...readBaseConfig(env, 'batch-processor', 8085, opts),
    groupId: envString(env, 'BATCH_GROUP_ID', 'pipeline-batch-processor'),
    jobTimeoutMs: envInt(env, 'BATCH_JOB_TIMEOUT_MS', 30 * 60_000, { min: 1_000 }),
    progressIntervalMs: envInt(env, 'BATCH_PROGRESS_INTERVAL_MS', 500, { min: 10 }),
    watchdogIntervalMs: envInt(env, 'BATCH_WATCHDOG_INTERVAL_MS', 1_000, { min: 10 }),
    workerId: envString(env, 'BATCH_WORKER_ID', `${hostname()}/${process.pid}`),
    computeWorkerPath: envString(env, 'BATCH_COMPUTE_WORKER_PATH', opts.defaultWorkerPath ?? ''),
    jobRetentionMs: envInt(env, 'JOB_RETENTION_HOURS', 168, { min: 1, max: 87_600 }) * 3_600_000,
  };
}

import type { KeyObject } from 'node:crypto';
import { Counter, Gauge, Histogram } from 'prom-client';
import { INTERNAL_TOPICS, ML_MODEL_TYPES, isTerminalMlJobState, type MlJobCommand } from '@pipeline/contracts';
import { MlJobsView, startRetentionSweep } from '@pipeline/jobs';
import type { IncomingMessage, MessageBatch, Subscription } from '@pipeline/kafka';
import { ModelRegistryView, keyIdOf, withdrawModelVersions } from '@pipeline/model-registry';
import { startCountersAtZero, type ServiceFactory } from '@pipeline/service-runtime';
import type { TrainerConfig } from './config';
import { createInlineRunner } from './createInlineRunner';
import { createWorkerRunner } from './createWorkerRunner';
import { JobCancelledError } from './errors';
import { runTrainingJob, type JobOutcome } from './runTrainingJob';
import type { TrainingRunner } from './TrainingRunner';

/**
 * ml-trainer: consumes training commands from `pipeline.ml.commands` (group `pipeline-ml-trainer`,
 * keyed by model name), trains in a worker thread, publishes the model to the registry topic and
 * the job's state to `pipeline.ml.jobs`.
 *
 * Job lifecycle and crashes — the command offset is committed only after the job is terminal:
 * - The batch handler awaits each of its jobs to the end (succeeded/failed/cancelled published), calling
 *   `batch.heartbeat()` every `heartbeatIntervalMs` meanwhile so the group keeps the member. The
 *   offset is committed when the handler resolves, i.e. after the terminal status is on Kafka.
 * - Crash or kill mid-job: the offset was not committed, so after the rebalance (this process
 *   restarted, or another replica) the command is delivered again and the job runs again from the
 *   start; its status goes `running` again and ends terminal. Nothing queued is lost.
 * - Graceful shutdown (SIGTERM): running jobs are aborted (worker terminated), their status is put
 *   back to `queued`, and the handler throws so the offset stays uncommitted — same redelivery.
 * - Timeout and cancel are terminal: a job running longer than `jobTimeoutMs` (ML_JOB_TIMEOUT_MS)
 *   has its worker terminated and ends `failed` (`error_code: job_timeout`); a cancel marker on
 *   `pipeline.ml.jobs` (DELETE /pipeline/ml/jobs/{id}) stops it the same way and it ends
 *   `cancelled`. Either way the handler resolves and the offset is committed, so the job does not
 *   run again after a restart. A job cancelled before it runs (still queued behind another job of
 *   its partition, or waiting for a slot) ends `cancelled` when its turn comes, without training.
 * - Redelivery of a finished job (crash between the terminal status and the commit): the jobs view
 *   shows it terminal and the command is skipped, so a job never produces two model versions then.
 * - Ordering: commands are keyed by model name, so one model's jobs are handled in order by one
 *   member, which is what makes "next version = max(existing) + 1" safe. The remaining window: a
 *   member that loses its partition in a rebalance while still training finishes its job while the
 *   new owner starts the same one — at-least-once, the model may then get two versions.
 * - Head-of-line: a long job holds its partition (3 partitions → up to 3 models train in
 *   parallel per group, capped by `maxConcurrentJobs` per process; the others wait `queued`).
 *
 * Every version is signed with `config.signingKey` (ML_SIGNING_KEY_FILE), or else `opts.signingKey`
 * (embedded mode's key, whose public half its predictor trusts); with neither it is published
 * unsigned, and a warning at start says predictors with ML_VERIFY_KEYS_FILE will refuse it.
 * Retention's withdrawals are signed with the same key (predictors that verify ignore bare tombstones).
 */
export function createTrainer(opts: { runner?: TrainingRunner; signingKey?: KeyObject } = {}): ServiceFactory<TrainerConfig> {
  return ({ config, bus, metrics, logger }) => {
    const registers = [metrics.registry];
    const duration = new Histogram({
      name: 'pipeline_ml_training_duration_seconds',
      help: 'Wall time of a training job, reading data to publishing the model',
      labelNames: ['model_type'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers,
    });
    const jobsTotal = new Counter({ name: 'pipeline_ml_training_jobs_total', help: 'Training jobs finished, by outcome', labelNames: ['model_type', 'status'], registers });
    startCountersAtZero(jobsTotal, { model_type: [...ML_MODEL_TYPES, 'invalid'], status: ['succeeded', 'failed', 'cancelled'] });
    metrics.expectTopics({ published: [INTERNAL_TOPICS.mlJobs, INTERNAL_TOPICS.mlModels], consumed: [INTERNAL_TOPICS.mlCommands, INTERNAL_TOPICS.mlJobs, INTERNAL_TOPICS.mlModels] });
    const featureRows = new Counter({ name: 'pipeline_ml_feature_rows_total', help: 'Rows used to train models', registers });
    const versionsWithdrawn = new Counter({ name: 'pipeline_ml_registry_versions_withdrawn_total', help: 'Model versions withdrawn from the registry topic by retention (ML_REGISTRY_KEEP_VERSIONS)', registers });
    const r2 = new Gauge({ name: 'pipeline_ml_model_r2', help: 'Held-out R² of the latest version of each regression model', labelNames: ['model'], registers });

    const signingKey = config.signingKey ?? opts.signingKey;
    const runner = opts.runner ?? (config.trainWorkerPath ? createWorkerRunner(config.trainWorkerPath) : createInlineRunner());
    /** What stops each job this process has taken (waiting for a slot or running), by job id: its cancel. */
    const cancels = new Map<string, AbortController>();
    const jobs = new MlJobsView(bus, {
      groupPrefix: 'pipeline-ml-trainer-jobs',
      onCancelRequested: (jobId) => cancels.get(jobId)?.abort(new JobCancelledError()),
    });
    const registry = new ModelRegistryView(bus, {
      topic: INTERNAL_TOPICS.mlModels,
      groupPrefix: 'pipeline-ml-trainer-models',
      onInvalid: (name, version, reason) => logger.warn({ name, version, reason }, 'model version does not match its manifest (yet)'),
    });
    const shutdown = new AbortController();
    const inFlight = new Map<string, Promise<JobOutcome>>();
    let retention: ReturnType<typeof startRetentionSweep> | undefined;
    let free = config.maxConcurrentJobs;
    const waiting: Array<() => void> = [];
    let sub: Subscription | undefined;
    let ready = false;

    /** Takes a training slot (true), or gives up when `signal` aborts first (false: no slot to release). */
    const acquire = (signal: AbortSignal): Promise<boolean> => {
      if (signal.aborted) return Promise.resolve(false);
      if (free > 0) return (free--, Promise.resolve(true));
      return new Promise<boolean>((resolve) => {
        const take = () => {
          signal.removeEventListener('abort', giveUp);
          resolve(true);
        };
        const giveUp = () => {
          waiting.splice(waiting.indexOf(take), 1);
          resolve(false);
        };
        waiting.push(take);
        signal.addEventListener('abort', giveUp, { once: true });
      });
    };
    const release = () => {
      const next = waiting.shift();
      if (next) next();
      else free++;
    };

    /**
     * Registry retention after `version` of `name` was published: withdraws the versions older than
     * the newest `registryKeepVersions`. Housekeeping: a failure is logged and the next successful
     * job of the model tries again (it withdraws everything older, not just one version).
     */
    async function pruneRegistry(name: string, version: number): Promise<void> {
      const olderThan = version - config.registryKeepVersions + 1;
      if (olderThan <= 1) return;
      try {
        const withdrawn = await withdrawModelVersions(bus, registry, { topic: INTERNAL_TOPICS.mlModels, name, olderThan, ...(signingKey ? { signingKey } : {}) });
        if (withdrawn.length > 0) {
          versionsWithdrawn.inc(withdrawn.length);
          logger.info({ model: name, withdrawn, kept: `${olderThan}..${version}` }, 'older model versions withdrawn from the registry');
        }
      } catch (err) {
        logger.warn({ model: name, err: (err as Error).message }, 'could not withdraw older model versions; the next training of this model retries');
      }
    }

    /** Runs `work` while heartbeating the batch's group membership. */
    async function withHeartbeat<T>(batch: MessageBatch, work: () => Promise<T>): Promise<T> {
      const timer = setInterval(() => void batch.heartbeat().catch((err: Error) => logger.warn({ err: err.message }, 'heartbeat during a training job failed')), config.heartbeatIntervalMs);
      try {
        return await work();
      } finally {
        clearInterval(timer);
      }
    }

    async function handleCommand(m: IncomingMessage, batch: MessageBatch): Promise<void> {
      const command = parseJson(m) as MlJobCommand | undefined;
      if (!command || typeof command.job_id !== 'string' || command.job_id === '') {
        logger.warn({ partition: m.partition, offset: m.offset }, 'skipping a training command that is not {job_id, request, submitted_at} JSON');
        return;
      }
      const known = jobs.status(command.job_id);
      if (known && isTerminalMlJobState(known.status)) {
        logger.info({ job_id: command.job_id, status: known.status }, 'skipping a redelivered command of a finished job');
        return;
      }
      // The gateway writes `queued` before the command, so an old command without a status is of a job deleted after its retention.
      if (!known && Date.now() - Date.parse(command.submitted_at) > config.jobRetentionMs) {
        logger.info({ job_id: command.job_id, submitted_at: command.submitted_at }, 'skipping the command of a job deleted after its retention');
        return;
      }
      const existing = inFlight.get(command.job_id);
      if (existing) {
        await withHeartbeat(batch, () => existing);
        return;
      }
      const cancel = new AbortController();
      cancels.set(command.job_id, cancel);
      if (jobs.cancelRequested(command.job_id)) cancel.abort(new JobCancelledError());
      const signal = AbortSignal.any([shutdown.signal, cancel.signal]);
      const job = withHeartbeat(batch, async () => {
        const slot = await acquire(signal);
        try {
          // Stopped before it got a slot: runTrainingJob ends it at once (cancelled) or rejects (shutdown).
          return await runTrainingJob(command, { bus, registry, runner, progressIntervalMs: config.progressIntervalMs, timeoutMs: config.jobTimeoutMs, signal, ...(signingKey ? { signingKey } : {}) });
        } finally {
          if (slot) release();
        }
      });
      inFlight.set(command.job_id, job);
      try {
        const { status, summary } = await job;
        const type = (ML_MODEL_TYPES as readonly string[]).includes(status.model_type) ? status.model_type : 'invalid';
        duration.observe({ model_type: type }, status.duration_seconds ?? 0);
        jobsTotal.inc({ model_type: type, status: status.status });
        if (status.status === 'succeeded') {
          featureRows.inc(status.rows ?? summary?.provenance.rows ?? 0);
          if (summary?.metrics.r2 !== undefined) r2.set({ model: status.model_name }, summary.metrics.r2);
        }
        logger.info({ job_id: status.job_id, status: status.status, model: status.model_name, version: status.model_version, error: status.error }, 'training job finished');
        if (status.status === 'succeeded' && status.model_version !== undefined) await pruneRegistry(status.model_name, status.model_version);
      } catch (err) {
        if (shutdown.signal.aborted) {
          // Put the job back to queued: it will run again when its command is redelivered.
          const now = new Date().toISOString();
          const back = { job_id: command.job_id, status: 'queued', progress: 0, submitted_at: command.submitted_at, updated_at: now } as const;
          await jobs.write({ ...jobs.status(command.job_id), ...back, model_name: command.request?.model_name ?? '', model_type: command.request?.model_type ?? '' }).catch(() => undefined);
        } else {
          logger.warn({ job_id: command.job_id, err }, 'training job interrupted by a retriable error; the command will be redelivered');
        }
        throw err;
      } finally {
        inFlight.delete(command.job_id);
        cancels.delete(command.job_id);
      }
    }

    return {
      readiness: [{ name: 'ml-views', check: async () => ready }],
      async start() {
        if (signingKey) logger.info({ keyId: keyIdOf(signingKey) }, 'model versions are signed with this key');
        else logger.warn('ML_SIGNING_KEY_FILE is not set: model versions are published unsigned, and predictors that verify (ML_VERIFY_KEYS_FILE) refuse them');
        await Promise.all([jobs.start(), registry.start()]);
        await Promise.all([jobs.catchUp(60_000), registry.catchUp(60_000)]);
        // finished jobs past JOB_RETENTION_HOURS: tombstoned by every replica (idempotent), now and every 10 minutes
        retention = startRetentionSweep(jobs, {
          retentionMs: config.jobRetentionMs,
          onDeleted: (ids) => logger.info({ jobs: ids.length }, 'deleted training jobs past their retention'),
          onError: (err) => logger.warn({ err }, 'training job retention sweep failed'),
        });
        ready = true;
        sub = await bus.subscribe({
          groupId: config.commandsGroupId,
          topics: [INTERNAL_TOPICS.mlCommands],
          fromBeginning: true, // a new group still sees queued commands; finished ones are skipped
          handler: async (batch) => {
            for (const m of batch.messages) await handleCommand(m, batch);
          },
        });
      },
      async stop() {
        ready = false;
        shutdown.abort(new Error('ml-trainer is shutting down'));
        retention?.stop();
        await retention?.current;
        await sub?.stop();
        await Promise.all([jobs.stop(), registry.stop()]);
      },
    };
  };
}

function parseJson(m: IncomingMessage): unknown {
  try {
    const v = JSON.parse(m.value.toString('utf8')) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

import { Worker } from 'node:worker_threads';
import { Counter, Gauge, Histogram } from 'prom-client';
import { BATCH_TASKS_TOPIC, INTERNAL_TOPICS, type BatchCommand, type BatchTask } from '@pipeline/contracts';
import type { IncomingMessage, Subscription, TopicPartition } from '@pipeline/kafka';
import { BATCH_OPERATIONS } from '@pipeline/batch';
import { BatchJobsView, startRetentionSweep } from '@pipeline/jobs';
import { startCountersAtZero, type ServiceFactory } from '@pipeline/service-runtime';
import { BatchWorker } from './BatchWorker';
import { createInlineCompute, createWorkerCompute } from './ComputeRunner';
import type { BatchProcessorConfig } from './config';

/**
 * The batch-processor: consumes pipeline.batch.commands and pipeline.batch.tasks in one consumer
 * group (so replicas split both), runs jobs with @pipeline/batch and keeps their state on the
 * compacted pipeline.batch.jobs. HTTP: /healthz, /readyz, /metrics and GET /v1/batch/worker
 * (this replica's id and assigned partitions).
 */
export const createBatchProcessor: ServiceFactory<BatchProcessorConfig> = (ctx) => batchProcessorFactory()(ctx);

/**
 * The batch-processor with its compute worker started by `spawnComputeWorker` (tests run the
 * worker's TypeScript source this way); by default a Worker on config.computeWorkerPath, or
 * computing on the event loop when that is empty.
 */
export function batchProcessorFactory(opts: { spawnComputeWorker?: () => Worker } = {}): ServiceFactory<BatchProcessorConfig> {
  return ({ config, bus, metrics, logger }) => {
  const jobsTotal = new Counter({ name: 'pipeline_batch_jobs_total', help: 'Batch jobs ended by this replica, per operation and final status', labelNames: ['operation', 'status'], registers: [metrics.registry] });
  startCountersAtZero(jobsTotal, { operation: BATCH_OPERATIONS, status: ['succeeded', 'failed', 'cancelled'] });
  metrics.expectTopics({ published: [INTERNAL_TOPICS.batchJobs, BATCH_TASKS_TOPIC], consumed: [INTERNAL_TOPICS.batchCommands, BATCH_TASKS_TOPIC] });
  const jobDuration = new Histogram({
    name: 'pipeline_batch_job_duration_seconds',
    help: 'Time from a job being taken to its end, for jobs ended by this replica',
    labelNames: ['operation'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
    registers: [metrics.registry],
  });
  const computing = new Gauge({ name: 'pipeline_batch_computations_running', help: 'Batch computations (inline jobs, task batches, final merges) running in the compute worker now', registers: [metrics.registry] });
  const spawn = opts.spawnComputeWorker ?? (config.computeWorkerPath ? () => new Worker(config.computeWorkerPath) : undefined);
  const compute = spawn ? createWorkerCompute(spawn, (d) => computing.inc(d)) : createInlineCompute();
  if (!spawn) logger.warn('BATCH_COMPUTE_WORKER_PATH is empty: batch jobs compute on the event loop');
  const store = new BatchJobsView(bus, { groupPrefix: 'pipeline-batch-processor-view', keepPartials: true });
  const worker = new BatchWorker({
    compute,
    bus,
    store,
    workerId: config.workerId,
    jobTimeoutMs: config.jobTimeoutMs,
    progressIntervalMs: config.progressIntervalMs,
    jobRetentionMs: config.jobRetentionMs,
    logger,
    onFinished: (operation, status, seconds) => {
      jobsTotal.inc({ operation, status });
      jobDuration.observe({ operation }, seconds);
    },
    onConsumed: (topic, n) => metrics.eventsConsumed.inc({ topic }, n),
  });
  let sub: Subscription | undefined;
  let timer: NodeJS.Timeout | undefined;
  let assigned: TopicPartition[] = [];
  let sweeping = false;
  let retention: ReturnType<typeof startRetentionSweep> | undefined;

  const decode = <T>(m: IncomingMessage): T | undefined => {
    try {
      return JSON.parse(m.value.toString('utf8')) as T;
    } catch {
      logger.warn({ topic: m.topic, partition: m.partition, offset: m.offset }, 'skipping a batch message that is not JSON');
      return undefined;
    }
  };

  return {
    routes(app) {
      app.get('/v1/batch/worker', (_req, res) => {
        res.json({ worker: config.workerId, group: config.groupId, assignments: assigned });
      });
    },
    async start() {
      await store.start();
      await store.catchUp(60_000);
      // finished jobs past JOB_RETENTION_HOURS: tombstoned by every replica (idempotent), now and every 10 minutes
      retention = startRetentionSweep(store, {
        retentionMs: config.jobRetentionMs,
        onDeleted: (ids) => logger.info({ jobs: ids.length }, 'deleted batch jobs past their retention'),
        onError: (err) => logger.warn({ err }, 'batch job retention sweep failed'),
      });
      sub = await bus.subscribe({
        groupId: config.groupId,
        topics: [INTERNAL_TOPICS.batchCommands, BATCH_TASKS_TOPIC],
        // A partition this group never committed on starts at its beginning, not at "latest": a task
        // taken over from a replica that died before its first commit must not be skipped.
        fromBeginning: true,
        commit: 'after-handler', // a task's offset is committed only after its partial is stored
        onAssignment: (a) => void (assigned = a),
        handler: async (batch) => {
          for (const m of batch.messages) {
            if (batch.topic === BATCH_TASKS_TOPIC) {
              const task = decode<BatchTask>(m);
              if (task) await worker.handleTask(task, batch.heartbeat);
            } else {
              const command = decode<BatchCommand>(m);
              if (command?.job_id) await worker.handleCommand(command);
            }
          }
        },
      });
      timer = setInterval(() => {
        if (sweeping) return;
        sweeping = true;
        worker
          .sweep()
          .catch((err) => logger.warn({ err }, 'batch watchdog sweep failed'))
          .finally(() => (sweeping = false));
      }, config.watchdogIntervalMs);
    },
    async stop() {
      if (timer) clearInterval(timer);
      retention?.stop();
      await retention?.current;
      await sub?.stop();
      await store.stop();
      await compute.close();
    },
  };
  };
}

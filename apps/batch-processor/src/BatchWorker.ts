import {
  BATCH_TASKS_TOPIC,
  isTerminalBatchStatus,
  mergeSkippedRecords,
  type BatchCommand,
  type BatchInput,
  type BatchJobRecord,
  type BatchJobStatus,
  type BatchTask,
} from '@pipeline/contracts';
import { BatchInputError, readBatchRequest, type BatchJobOptions } from '@pipeline/batch';
import type { BatchJobsView } from '@pipeline/jobs';
import { BusError, type EventBus, type IncomingMessage } from '@pipeline/kafka';
import { packRecords } from './batchCompute';
import { createInlineCompute, type ComputeRunner } from './ComputeRunner';
import { BatchJobFailure, TaskAborted } from './errors';
import { planTasks, taskKey } from './planTasks';

export interface BatchWorkerOptions {
  bus: EventBus;
  store: BatchJobsView;
  /** Name of this replica in progress records and results. */
  workerId: string;
  /** A job is failed this long after a replica took its command (ms). */
  jobTimeoutMs: number;
  /** Least time between two progress records of one task (ms). */
  progressIntervalMs: number;
  /**
   * Finished jobs are deleted this long after they end (ms; see BatchJobsView.deleteExpired). A
   * command without a status record submitted longer ago than this is of a deleted job, and is not
   * run again. Absent: every command without a status record runs.
   */
  jobRetentionMs?: number;
  /** Wall clock in epoch ms (tests pass their own). */
  now?: () => number;
  /** Where the computations run (default: inline, on the event loop). */
  compute?: ComputeRunner;
  /** Called once per job this replica moved to a terminal state; `seconds` from start (or submit) to finish. */
  onFinished?(operation: string, status: BatchJobStatus, seconds: number): void;
  /** Called with the number of source records read from `topic`. */
  onConsumed?(topic: string, count: number): void;
  logger?: { info(o: object, m: string): void; warn(o: object, m: string): void };
}

/**
 * The job lifecycle of one replica (see the README of the contract in @pipeline/contracts batchSchemas.ts):
 *   command  → inline: run here, write running then the result;
 *              source: write running {tasks, deadline}, publish one task per (source, partition);
 *   task     → read the partition's range with readRange, publishing progress, then the partial;
 *              whoever sees all partials after its own write merges them and writes the result;
 *   sweep    → cancel markers and passed deadlines end non-terminal jobs (cancelled / failed).
 * Handlers throw only retriable errors, which leave the Kafka offset uncommitted so the message is
 * delivered again (a replica that died mid-task is replaced this way, after the session timeout).
 */
export class BatchWorker {
  private readonly now: () => number;
  private readonly compute: ComputeRunner;
  /** Jobs this replica ended, so a sweep does not count them twice. */
  private readonly ended = new Set<string>();

  constructor(private readonly o: BatchWorkerOptions) {
    this.now = o.now ?? Date.now;
    this.compute = o.compute ?? createInlineCompute();
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  async handleCommand(command: BatchCommand): Promise<void> {
    const { store } = this.o;
    const jobId = command.job_id;
    const request = command.request ?? {};
    const existing = store.status(jobId);
    if (existing && isTerminalBatchStatus(existing.status)) return;
    // The gateway writes `queued` before the command, so an old command without a status is of a job deleted after its retention.
    if (!existing && this.o.jobRetentionMs !== undefined && this.now() - Date.parse(command.submitted_at) > this.o.jobRetentionMs) return;
    const base: BatchJobRecord = { job_id: jobId, operation: String(request['operation'] ?? 'unknown'), status: 'running', submitted_at: command.submitted_at, ...(command.owner === undefined ? {} : { owner: command.owner }) };
    if (existing?.status === 'running' && existing.tasks !== undefined && existing.deadline_ms !== undefined) {
      // Redelivered after this command's replica died between its running record and committing:
      // publish again the tasks whose partials are missing (a duplicate task is harmless: same partial).
      await this.republish(existing, request);
      return;
    }
    if (store.cancelRequested(jobId)) return this.end(base, 'cancelled', { reason: 'cancelled before it started' });
    let options: BatchJobOptions;
    let input: BatchInput;
    try {
      ({ options, input } = readBatchRequest(request)); // the gateway's validator: a command from elsewhere gets the same checks
    } catch (e) {
      return this.end(base, 'failed', { reason: (e as Error).message });
    }
    const startedAt = this.iso();
    const deadlineMs = this.now() + this.o.jobTimeoutMs;
    const running: BatchJobRecord = { ...base, operation: options.operation, started_at: startedAt, deadline_ms: deadlineMs };
    if (input.kind !== 'source') {
      await store.writeStatus(running);
      let computed: { result: unknown; read: number };
      try {
        computed = await this.compute.inline(request);
      } catch (e) {
        if (e instanceof BatchInputError || e instanceof BatchJobFailure) return this.end(running, 'failed', { reason: e.message });
        throw e;
      }
      return this.end(running, 'succeeded', { result: computed.result, events_read: computed.read });
    }
    const sources = [];
    for (const range of input.sources) {
      let partitions: number[];
      try {
        partitions = await this.o.bus.partitionsFor(range.topic);
      } catch (e) {
        const err = e instanceof BusError ? e : undefined;
        if (err?.retriable) throw e;
        return this.end(running, 'failed', { reason: `source topic ${JSON.stringify(range.topic)} is not readable: ${(e as Error).message}` });
      }
      sources.push({ range, partitions });
    }
    const tasks = planTasks({ jobId, request, startedAt, deadlineMs }, sources);
    const record: BatchJobRecord = { ...running, tasks: tasks.length };
    await store.writeStatus(record);
    await this.publishTasks(tasks);
  }

  private async republish(record: BatchJobRecord, request: Record<string, unknown>): Promise<void> {
    const { input } = readBatchRequest(request);
    if (input.kind !== 'source') return;
    const sources = [];
    for (const range of input.sources) sources.push({ range, partitions: await this.o.bus.partitionsFor(range.topic) });
    const tasks = planTasks({ jobId: record.job_id, request, startedAt: record.started_at ?? this.iso(), deadlineMs: record.deadline_ms! }, sources);
    await this.publishTasks(tasks.filter((t) => this.o.store.partial(t.job_id, t.task) === undefined));
  }

  private async publishTasks(tasks: BatchTask[]): Promise<void> {
    if (tasks.length === 0) return;
    const taskPartitions = (await this.o.bus.partitionsFor(BATCH_TASKS_TOPIC)).length;
    await this.o.bus.publishBatch(tasks.map((t) => ({ topic: BATCH_TASKS_TOPIC, key: taskKey(t.job_id, t.task, taskPartitions), value: JSON.stringify(t) })));
  }

  /** Why a task must stop now, or undefined to go on. */
  private stopReason(task: BatchTask): string | undefined {
    const st = this.o.store.status(task.job_id);
    if (st && isTerminalBatchStatus(st.status)) return `job is ${st.status}`;
    if (this.o.store.cancelRequested(task.job_id)) return 'cancel requested';
    if (this.now() > task.deadline_ms) return 'deadline passed';
    return undefined;
  }

  /**
   * Runs one task. `heartbeat` keeps this replica in the consumer group during a long read; if it
   * throws (a rebalance), the error propagates and the task is delivered again.
   */
  async handleTask(task: BatchTask, heartbeat: () => Promise<void> = async () => {}): Promise<void> {
    const { store } = this.o;
    const stop = this.stopReason(task);
    if (stop !== undefined) return this.endForStop(task, stop);
    if (store.partial(task.job_id, task.task) === undefined) {
      try {
        await this.readPartition(task, heartbeat);
      } catch (e) {
        if (e instanceof TaskAborted) return this.endForStop(task, e.message);
        if (e instanceof BatchInputError || e instanceof BatchJobFailure || (e instanceof BusError && !e.retriable)) {
          const st = store.status(task.job_id);
          if (st && !isTerminalBatchStatus(st.status)) await this.end(st, 'failed', { reason: `task ${task.task} (${task.topic} partition ${task.partition}): ${e.message}` });
          return;
        }
        throw e;
      }
    }
    await this.finishIfComplete(task);
  }

  /**
   * Reads the task's range into a run (in the compute runner: parsing, checks and skipping are
   * batchCompute's createTaskRun), publishing progress between Kafka batches.
   */
  private async readPartition(task: BatchTask, heartbeat: () => Promise<void>): Promise<void> {
    const { store, bus } = this.o;
    const run = await this.compute.openTask(task.request, { topic: task.topic, partition: task.partition, ...(task.side ? { side: task.side } : {}) });
    const controller = new AbortController();
    let read = 0;
    let lastProgressAt = this.now();
    let stopped: string | undefined;
    try {
      await bus
        .readRange({
          name: 'pipeline-batch-source',
          topic: task.topic,
          fromMs: task.from_ms,
          toMs: task.to_ms,
          partitions: [task.partition],
          signal: controller.signal,
          onBatch: async (messages: IncomingMessage[], progress: number) => {
            stopped = this.stopReason(task);
            if (stopped !== undefined) {
              controller.abort(new TaskAborted(stopped));
              return;
            }
            await run.add(packRecords(messages));
            read += messages.length;
            this.o.onConsumed?.(task.topic, messages.length);
            await heartbeat();
            if (this.now() - lastProgressAt >= this.o.progressIntervalMs) {
              lastProgressAt = this.now();
              await store.writeProgress({ job_id: task.job_id, task: task.task, progress, events_read: read, worker: this.o.workerId });
            }
          },
        })
        .catch((e) => {
          if (stopped !== undefined || controller.signal.aborted) throw new TaskAborted(stopped ?? 'aborted');
          throw e;
        });
    } catch (e) {
      await run.end().catch(() => undefined); // frees the run in the runner
      throw e;
    }
    const outcome = await run.end();
    if (stopped !== undefined) throw new TaskAborted(stopped);
    await store.writeProgress({ job_id: task.job_id, task: task.task, progress: 1, events_read: read, worker: this.o.workerId });
    await store.writePartial({ job_id: task.job_id, task: task.task, events_read: read, worker: this.o.workerId, ...outcome });
  }

  /**
   * After its own partial is stored: catch up, and if every task's partial is there, merge in task
   * order and write the result. Two replicas finishing at once may both do it; they write the same result.
   */
  private async finishIfComplete(task: BatchTask): Promise<void> {
    const { store } = this.o;
    await store.catchUp();
    const st = store.status(task.job_id);
    if (!st || isTerminalBatchStatus(st.status)) return;
    const partials = [];
    for (let i = 0; i < task.tasks; i++) {
      const p = store.partial(task.job_id, i);
      if (p === undefined) return;
      partials.push(p);
    }
    if (store.cancelRequested(task.job_id)) return this.end(st, 'cancelled', { reason: 'cancel requested' });
    let result: unknown;
    try {
      result = await this.compute.finish(task.request, partials.map((p) => p.partial));
    } catch (e) {
      if (e instanceof BatchInputError || e instanceof BatchJobFailure) return this.end(st, 'failed', { reason: e.message });
      throw e;
    }
    const workers = [...new Set(partials.map((p) => p.worker))].sort();
    const skipped = mergeSkippedRecords(partials.map((p) => p.skipped));
    await this.end(st, 'succeeded', { result, events_read: partials.reduce((a, p) => a + p.events_read, 0), workers, ...(skipped ? { skipped } : {}) });
  }

  private async endForStop(task: BatchTask, why: string): Promise<void> {
    const st = this.o.store.status(task.job_id);
    if (!st || isTerminalBatchStatus(st.status)) return;
    if (why === 'cancel requested') await this.end(st, 'cancelled', { reason: 'cancel requested' });
    else if (why === 'deadline passed') await this.end(st, 'failed', { reason: this.deadlineReason(st) });
  }

  private deadlineReason(st: BatchJobRecord): string {
    return `job did not finish within ${this.o.jobTimeoutMs} ms (deadline ${new Date(st.deadline_ms ?? this.now()).toISOString()})`;
  }

  /** Writes the terminal record (result or reason), then empties the task keys. */
  private async end(st: BatchJobRecord, status: 'succeeded' | 'failed' | 'cancelled', extra: Partial<BatchJobRecord>): Promise<void> {
    const finishedAt = this.iso();
    const record: BatchJobRecord = { ...st, ...extra, status, finished_at: finishedAt };
    delete record.deadline_ms;
    try {
      await this.o.store.writeStatus(record);
    } catch (e) {
      if (!(e instanceof BusError) || e.retriable || status !== 'succeeded') throw e;
      // e.g. a join result above the 16 MiB message limit
      await this.o.store.writeStatus({ ...st, status: 'failed', finished_at: finishedAt, reason: `the result could not be stored: ${e.message}` });
      status = 'failed';
    }
    if (st.tasks) await this.o.store.clearTasks(st.job_id, st.tasks);
    if (!this.ended.has(st.job_id)) {
      this.ended.add(st.job_id);
      const from = Date.parse(st.started_at ?? st.submitted_at);
      this.o.onFinished?.(record.operation, status, Math.max(0, (Date.parse(finishedAt) - from) / 1000));
    }
    this.o.logger?.info({ job_id: st.job_id, status, reason: record.reason }, 'batch job finished');
  }

  /** Ends jobs with a cancel marker (cancelled) or a passed deadline (failed). Run periodically. */
  async sweep(): Promise<void> {
    const { store } = this.o;
    for (const st of [...store.statuses()]) {
      if (isTerminalBatchStatus(st.status) || this.ended.has(st.job_id)) continue;
      if (store.cancelRequested(st.job_id)) await this.end(st, 'cancelled', { reason: 'cancel requested' });
      else if (st.deadline_ms !== undefined && this.now() > st.deadline_ms) await this.end(st, 'failed', { reason: this.deadlineReason(st) });
    }
  }
}

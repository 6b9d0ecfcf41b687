import { randomUUID } from 'node:crypto';
import {
  BATCH_JOB_STATUSES,
  INTERNAL_TOPICS,
  batchJobKeys,
  isTerminalBatchStatus,
  parseBatchJobKey,
  summarizeBatchJob,
  type JobCancelRecord,
  type BatchCommand,
  type BatchJob,
  type BatchJobRecord,
  type BatchJobStatus,
  type BatchPartialRecord,
  type BatchProgressRecord,
} from '@pipeline/contracts';
import { CompactedTopicView, type EventBus } from '@pipeline/kafka';
import { expiredJobs } from './expiredJobs';
import { JobEndWaiters } from './JobEndWaiters';
import { pageJobs, type JobCursor, type JobPage } from './pageJobs';

type Entry = BatchJobRecord | BatchProgressRecord | BatchPartialRecord | JobCancelRecord;

export interface BatchJobsViewOptions {
  /** Consumer-group prefix of this view (each instance reads the whole topic in its own group). */
  groupPrefix: string;
  /**
   * Keep the tasks' partial results (up to one Kafka message each). The batch-processor merges them;
   * the gateway only shows status and progress, so it skips them unparsed.
   */
  keepPartials: boolean;
}

/**
 * The one view of `pipeline.batch.jobs` (keys in @pipeline/contracts batchSchemas.ts) and its writes,
 * for the gateway (submit, cancel, status) and the batch-processor (running the job's states). Each
 * instance has its own consumer, so `catchUp()` after a write gives read-your-writes across replicas.
 *
 * States: the gateway writes `queued` (then the command) and cancel markers; the processor writes
 * `running` with its task count, task progress and partials, then one terminal state
 * (succeeded, failed, cancelled) and empties the task keys.
 */
export class BatchJobsView extends CompactedTopicView<Entry> {
  private readonly topic = INTERNAL_TOPICS.batchJobs;
  private readonly endWaiters = new JobEndWaiters<BatchJob | undefined>();

  constructor(bus: EventBus, opts: BatchJobsViewOptions) {
    super(bus, {
      topic: INTERNAL_TOPICS.batchJobs,
      groupPrefix: opts.groupPrefix,
      decode: (m) => {
        const k = m.key === null ? undefined : parseBatchJobKey(m.key);
        if (k === undefined || (k.kind === 'partial' && !opts.keepPartials)) return undefined;
        try {
          return JSON.parse(m.value.toString('utf8')) as Entry;
        } catch {
          return undefined;
        }
      },
      onUpdate: (key) => {
        const k = parseBatchJobKey(key);
        if (k?.kind === 'status') this.endWaiters.notify(k.jobId);
      },
    });
  }

  /** The job's status record, as written. */
  status(jobId: string): BatchJobRecord | undefined {
    return this.get(batchJobKeys.status(jobId)) as BatchJobRecord | undefined;
  }
  cancelRequested(jobId: string): boolean {
    return this.get(batchJobKeys.cancel(jobId)) !== undefined;
  }
  /** A task's partial result (always undefined without `keepPartials`). */
  partial(jobId: string, task: number): BatchPartialRecord | undefined {
    return this.get(batchJobKeys.partial(jobId, task)) as BatchPartialRecord | undefined;
  }
  /** Every job's status record. */
  *statuses(): Iterable<BatchJobRecord> {
    for (const [key, value] of this.entries()) if (parseBatchJobKey(key)?.kind === 'status') yield value as BatchJobRecord;
  }

  /** The job as the REST API shows it: status with the progress of its tasks and a pending cancel. */
  job(jobId: string): BatchJob | undefined {
    const r = this.status(jobId);
    if (!r) return undefined;
    const progress: BatchProgressRecord[] = [];
    for (let task = 0; task < (r.tasks ?? 0); task++) {
      const p = this.get(batchJobKeys.progress(jobId, task)) as BatchProgressRecord | undefined;
      if (p) progress.push(p);
    }
    return summarizeBatchJob(r, progress, this.cancelRequested(jobId));
  }

  /** The job, after catching up once (at most `catchUpMs`) if this view has not seen it yet: read-your-writes after a submit. */
  async find(jobId: string, catchUpMs: number): Promise<BatchJob | undefined> {
    if (!this.status(jobId)) await this.catchUp(catchUpMs).catch(() => undefined);
    return this.job(jobId);
  }

  /** Every job, newest submission first. */
  list(): BatchJob[] {
    return [...this.statuses()].map((r) => this.job(r.job_id)!).sort((a, b) => (a.submitted_at < b.submitted_at ? 1 : a.submitted_at > b.submitted_at ? -1 : 0));
  }

  /**
   * A page of the jobs with `status` (all when undefined) submitted by `owner` (anyone's when
   * undefined), newest submission first (see pageJobs), and how many such jobs there are in all.
   * Only the page's jobs are summarized.
   */
  page(opts: { status?: BatchJobStatus; limit: number; after?: JobCursor; owner?: string }): JobPage<BatchJob> & { count: number } {
    const records = [...this.statuses()].filter((r) => (opts.status === undefined || r.status === opts.status) && (opts.owner === undefined || r.owner === opts.owner));
    const page = pageJobs(records, opts);
    return { jobs: page.jobs.map((r) => this.job(r.job_id)!), next_cursor: page.next_cursor, count: records.length };
  }

  /**
   * Deletes the jobs that finished (succeeded, failed, cancelled) more than `retentionMs` before
   * `nowMs` (epoch ms): a tombstone on each of their keys (status, cancel marker, task progress and
   * partials), which every view applies and compaction then removes. Idempotent: replicas sweeping
   * at once write the same tombstones, and a deleted job is not in the view to be deleted again.
   * Resolves with the ids of the jobs deleted, sorted.
   */
  async deleteExpired(nowMs: number, retentionMs: number): Promise<string[]> {
    const ids = expiredJobs(
      [...this.statuses()].map((r) => ({ job_id: r.job_id, finished: isTerminalBatchStatus(r.status), finished_at: r.finished_at, fallbackAt: r.submitted_at })),
      nowMs,
      retentionMs,
    ).sort();
    if (ids.length === 0) return ids;
    // Every key a job can have; those already emptied (the tasks' keys, at the job's end) are emptied again, harmlessly.
    const keys = ids.flatMap((id) => {
      const tasks = Array.from({ length: this.status(id)?.tasks ?? 0 }, (_, i) => [batchJobKeys.progress(id, i), batchJobKeys.partial(id, i)]).flat();
      return [...tasks, batchJobKeys.cancel(id), batchJobKeys.status(id)];
    });
    await this.bus.publishBatch(keys.map((key) => ({ topic: this.topic, key, value: '' })));
    return ids;
  }

  /** Jobs by state, and the events read by the succeeded ones. */
  counts(): { jobs: Record<BatchJobStatus, number>; eventsProcessed: number } {
    const jobs = Object.fromEntries(BATCH_JOB_STATUSES.map((s) => [s, 0])) as Record<BatchJobStatus, number>;
    let eventsProcessed = 0;
    for (const r of this.statuses()) {
      jobs[r.status]++;
      if (r.status === 'succeeded') eventsProcessed += r.events_read ?? 0;
    }
    return { jobs, eventsProcessed };
  }

  /** Resolves with the job once it is terminal, or with its latest state after `timeoutMs`. */
  waitForEnd(jobId: string, timeoutMs: number): Promise<BatchJob | undefined> {
    const ended = () => {
      const r = this.status(jobId);
      return r !== undefined && isTerminalBatchStatus(r.status);
    };
    return this.endWaiters.wait(jobId, timeoutMs, ended, () => this.job(jobId));
  }

  /**
   * Submits a job: its `queued` status first, so that a processor's `running` always follows it,
   * then the command. `owner` (the submitting key's principal) goes in both. Resolves with the job id.
   */
  async submit(request: Record<string, unknown>, submittedAt: string, opts: { jobId?: string; owner?: string } = {}): Promise<string> {
    const jobId = opts.jobId ?? randomUUID();
    const owned = opts.owner === undefined ? {} : { owner: opts.owner };
    const queued: BatchJobRecord = { job_id: jobId, operation: String(request['operation']), status: 'queued', submitted_at: submittedAt, ...owned };
    const command: BatchCommand = { job_id: jobId, request, submitted_at: submittedAt, ...owned };
    await this.writeStatus(queued);
    await this.bus.publish({ topic: INTERNAL_TOPICS.batchCommands, key: jobId, value: JSON.stringify(command) });
    return jobId;
  }

  /** Marks the job for cancelling; the processor ends it `cancelled` at its next chunk. */
  requestCancel(jobId: string, requestedAt: string): Promise<void> {
    const marker: JobCancelRecord = { job_id: jobId, requested_at: requestedAt };
    return this.bus.publish({ topic: this.topic, key: batchJobKeys.cancel(jobId), value: JSON.stringify(marker) });
  }

  writeStatus(record: BatchJobRecord): Promise<void> {
    return this.bus.publish({ topic: this.topic, key: batchJobKeys.status(record.job_id), value: JSON.stringify(record) });
  }
  writeProgress(record: BatchProgressRecord): Promise<void> {
    return this.bus.publish({ topic: this.topic, key: batchJobKeys.progress(record.job_id, record.task), value: JSON.stringify(record) });
  }
  writePartial(record: BatchPartialRecord): Promise<void> {
    return this.bus.publish({ topic: this.topic, key: batchJobKeys.partial(record.job_id, record.task), value: JSON.stringify(record) });
  }
  /** Empties the progress and partial keys of a finished job (empty value = deleted in every view). */
  clearTasks(jobId: string, tasks: number): Promise<void> {
    const keys = Array.from({ length: tasks }, (_, i) => [batchJobKeys.progress(jobId, i), batchJobKeys.partial(jobId, i)]).flat();
    return this.bus.publishBatch(keys.map((key) => ({ topic: this.topic, key, value: '' })));
  }
}

import { randomUUID } from 'node:crypto';
import { INTERNAL_TOPICS, isTerminalMlJobState, mlJobKeys, parseMlJobKey, type JobCancelRecord, type MlJobCommand, type MlJobStatus, type MlTrainRequest } from '@pipeline/contracts';
import { CompactedTopicView, type EventBus } from '@pipeline/kafka';
import { expiredJobs } from './expiredJobs';
import { JobEndWaiters } from './JobEndWaiters';

type Entry = MlJobStatus | JobCancelRecord;

export interface MlJobsViewOptions {
  /** Consumer-group prefix of this view (each instance reads the whole topic in its own group). */
  groupPrefix: string;
  /** Called with the job id when a cancel marker is read (also for markers read while catching up at start). */
  onCancelRequested?(jobId: string): void;
}

/**
 * The one view of `pipeline.ml.jobs` (keys in @pipeline/contracts mlSchemas.ts mlJobKeys: the job's
 * latest MlJobStatus at `<id>`, a cancel marker at `<id>/cancel`) and its writes, for the gateway
 * (submit, status, cancel) and ml-trainer (skip finished jobs, stop cancelled ones, put aborted ones
 * back). States: `queued` (the gateway, or a trainer shutting down mid-job), `running` with
 * progress, then `succeeded`, `failed` or `cancelled`. Each instance has its own reader, so
 * `catchUp()` after a write gives read-your-writes across replicas.
 */
export class MlJobsView extends CompactedTopicView<Entry> {
  private readonly endWaiters = new JobEndWaiters<MlJobStatus | undefined>();

  constructor(bus: EventBus, opts: MlJobsViewOptions) {
    super(bus, {
      topic: INTERNAL_TOPICS.mlJobs,
      groupPrefix: opts.groupPrefix,
      decode: (m) => {
        if (m.key === null || parseMlJobKey(m.key) === undefined) return undefined;
        try {
          const v = JSON.parse(m.value.toString('utf8')) as unknown;
          return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Entry) : undefined;
        } catch {
          return undefined;
        }
      },
      onUpdate: (key, value) => {
        const k = parseMlJobKey(key);
        if (k?.kind === 'status') this.endWaiters.notify(k.jobId);
        else if (k?.kind === 'cancel' && value !== undefined) opts.onCancelRequested?.(k.jobId);
      },
    });
  }

  /** The job's status record, as written. */
  status(jobId: string): MlJobStatus | undefined {
    return parseMlJobKey(jobId)?.kind === 'status' ? (this.get(mlJobKeys.status(jobId)) as MlJobStatus | undefined) : undefined;
  }
  cancelRequested(jobId: string): boolean {
    return this.get(mlJobKeys.cancel(jobId)) !== undefined;
  }
  /** Every job's status record. */
  *statuses(): Iterable<MlJobStatus> {
    for (const [key, value] of this.entries()) if (parseMlJobKey(key)?.kind === 'status') yield value as MlJobStatus;
  }

  /** The job as the REST API shows it: its status, with `cancel_requested` while a cancel is pending. */
  job(jobId: string): MlJobStatus | undefined {
    const s = this.status(jobId);
    if (!s) return undefined;
    return this.cancelRequested(jobId) && !isTerminalMlJobState(s.status) ? { ...s, cancel_requested: true } : s;
  }

  /**
   * The owners of the jobs kept for `modelName` other than `owner`: a model name belongs to the key
   * that trained it, as long as its jobs are kept (JOB_RETENTION_HOURS). Unowned jobs (auth off) claim nothing.
   */
  otherOwners(modelName: string, owner: string): string[] {
    const others = new Set<string>();
    for (const s of this.statuses()) if (s.model_name === modelName && s.owner !== undefined && s.owner !== owner) others.add(s.owner);
    return [...others].sort();
  }

  /** The job, after catching up once (at most `catchUpMs`) if this view has not seen it yet: read-your-writes after a submit. */
  async find(jobId: string, catchUpMs: number): Promise<MlJobStatus | undefined> {
    if (!this.status(jobId)) await this.catchUp(catchUpMs).catch(() => undefined);
    return this.job(jobId);
  }

  /** Resolves with the job once it has ended, or with its latest state after `timeoutMs`. */
  waitForEnd(jobId: string, timeoutMs: number): Promise<MlJobStatus | undefined> {
    const ended = () => {
      const r = this.status(jobId);
      return r !== undefined && isTerminalMlJobState(r.status);
    };
    return this.endWaiters.wait(jobId, timeoutMs, ended, () => this.job(jobId));
  }

  /**
   * Submits a training job: its `queued` status first, so that a trainer's `running` never comes
   * before it, then the command, keyed by model name (one model's jobs run one after another, which
   * keeps version numbers safe). `owner` (the submitting key's principal) goes in both. Resolves
   * with the job id.
   */
  async submit(request: MlTrainRequest, submittedAt: string, opts: { jobId?: string; owner?: string } = {}): Promise<string> {
    const jobId = opts.jobId ?? randomUUID();
    const owned = opts.owner === undefined ? {} : { owner: opts.owner };
    const command: MlJobCommand = { job_id: jobId, request, submitted_at: submittedAt, ...owned };
    await this.write({ job_id: jobId, status: 'queued', progress: 0, model_name: request.model_name, model_type: request.model_type, submitted_at: submittedAt, updated_at: submittedAt, ...owned });
    await this.bus.publish({ topic: INTERNAL_TOPICS.mlCommands, key: request.model_name, value: JSON.stringify(command) });
    return jobId;
  }

  /** Marks the job for cancelling; the trainer running it stops it (its worker is terminated) and ends it `cancelled`. */
  requestCancel(jobId: string, requestedAt: string): Promise<void> {
    const marker: JobCancelRecord = { job_id: jobId, requested_at: requestedAt };
    return this.bus.publish({ topic: INTERNAL_TOPICS.mlJobs, key: mlJobKeys.cancel(jobId), value: JSON.stringify(marker) });
  }

  /**
   * Deletes the jobs that ended (succeeded, failed, cancelled) more than `retentionMs` before
   * `nowMs` (epoch ms; `finished_at`, else `updated_at`): a tombstone on each job's keys (status and
   * cancel marker), which every view applies and compaction then removes. Idempotent across replicas
   * (the same tombstones; a deleted job is not in the view to be deleted again). Resolves with the
   * ids of the jobs deleted, sorted.
   */
  async deleteExpired(nowMs: number, retentionMs: number): Promise<string[]> {
    const jobs = [...this.statuses()].map((s) => ({ job_id: s.job_id, finished: isTerminalMlJobState(s.status), finished_at: s.finished_at, fallbackAt: s.updated_at }));
    const ids = expiredJobs(jobs, nowMs, retentionMs).sort();
    if (ids.length > 0) await this.bus.publishBatch(ids.flatMap((id) => [mlJobKeys.cancel(id), mlJobKeys.status(id)]).map((key) => ({ topic: INTERNAL_TOPICS.mlJobs, key, value: '' })));
    return ids;
  }

  write(status: MlJobStatus): Promise<void> {
    return this.bus.publish({ topic: INTERNAL_TOPICS.mlJobs, key: mlJobKeys.status(status.job_id), value: JSON.stringify(status) });
  }
}

import { randomUUID } from 'node:crypto';
import { INTERNAL_TOPICS, type MlJobCommand, type MlJobStatus, type MlTrainRequest } from '@pipeline/contracts';
import { CompactedTopicView, type EventBus } from '@pipeline/kafka';
import { expiredJobs } from './expiredJobs';

/**
 * The one view of `pipeline.ml.jobs` (key = job id, value = the job's latest MlJobStatus) and its
 * writes, for the gateway (submit, status) and ml-trainer (skip finished jobs, put aborted ones back).
 * States: `queued` (the gateway, or a trainer shutting down mid-job), `running` with progress,
 * then `succeeded` or `failed`. `get(jobId)` is the job's latest status.
 */
export class MlJobsView extends CompactedTopicView<MlJobStatus> {
  /** `groupPrefix`: consumer-group prefix of this view (each instance reads the whole topic in its own group). */
  constructor(bus: EventBus, opts: { groupPrefix: string }) {
    super(bus, {
      topic: INTERNAL_TOPICS.mlJobs,
      groupPrefix: opts.groupPrefix,
      decode: (m) => {
        try {
          const v = JSON.parse(m.value.toString('utf8')) as unknown;
          return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as MlJobStatus) : undefined;
        } catch {
          return undefined;
        }
      },
    });
  }

  /**
   * The owners of the jobs kept for `modelName` other than `owner`: a model name belongs to the key
   * that trained it, as long as its jobs are kept (JOB_RETENTION_HOURS). Unowned jobs (auth off) claim nothing.
   */
  otherOwners(modelName: string, owner: string): string[] {
    const others = new Set<string>();
    for (const [, s] of this.entries()) if (s.model_name === modelName && s.owner !== undefined && s.owner !== owner) others.add(s.owner);
    return [...others].sort();
  }

  /** The job, after catching up once (at most `catchUpMs`) if this view has not seen it yet: read-your-writes after a submit. */
  async find(jobId: string, catchUpMs: number): Promise<MlJobStatus | undefined> {
    if (!this.get(jobId)) await this.catchUp(catchUpMs).catch(() => undefined);
    return this.get(jobId);
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

  /**
   * Deletes the jobs that finished (succeeded or failed) more than `retentionMs` before `nowMs`
   * (epoch ms; `finished_at`, else `updated_at`): a tombstone on each job's key, which every view
   * applies and compaction then removes. Idempotent across replicas (the same tombstones; a deleted
   * job is not in the view to be deleted again). Resolves with the ids of the jobs deleted, sorted.
   */
  async deleteExpired(nowMs: number, retentionMs: number): Promise<string[]> {
    const jobs = [...this.entries()].map(([id, s]) => ({ job_id: id, finished: s.status === 'succeeded' || s.status === 'failed', finished_at: s.finished_at, fallbackAt: s.updated_at }));
    const ids = expiredJobs(jobs, nowMs, retentionMs).sort();
    if (ids.length > 0) await this.bus.publishBatch(ids.map((id) => ({ topic: INTERNAL_TOPICS.mlJobs, key: id, value: '' })));
    return ids;
  }

  write(status: MlJobStatus): Promise<void> {
    return this.bus.publish({ topic: INTERNAL_TOPICS.mlJobs, key: status.job_id, value: JSON.stringify(status) });
  }
}

/** A finished job's retention clock: it starts when the job ends. */
export interface RetainedJob {
  job_id: string;
  /** Whether the job has ended (succeeded, failed or cancelled): only those expire. */
  finished: boolean;
  /** When the job ended (ISO 8601); absent on old records, then `fallbackAt` counts. */
  finished_at?: string;
  /** The time used when `finished_at` is absent or unreadable (ISO 8601), e.g. the submission or last update. */
  fallbackAt: string;
}

/**
 * The ids of finished jobs that ended more than `retentionMs` before `nowMs` (epoch ms). Queued and
 * running jobs never expire, whatever their age; a job whose times cannot be read is kept.
 * Example: retention 168 h, now 2026-12-08T12:00Z → a job finished 2026-12-01T11:59Z expires, one
 * finished 2026-12-01T12:01Z does not.
 */
export function expiredJobs(jobs: Iterable<RetainedJob>, nowMs: number, retentionMs: number): string[] {
  const out: string[] = [];
  for (const j of jobs) {
    if (!j.finished) continue;
    let at = j.finished_at === undefined ? Number.NaN : Date.parse(j.finished_at);
    if (Number.isNaN(at)) at = Date.parse(j.fallbackAt);
    if (Number.isFinite(at) && nowMs - at > retentionMs) out.push(j.job_id);
  }
  return out;
}

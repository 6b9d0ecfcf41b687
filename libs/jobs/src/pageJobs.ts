import { InvalidArgumentError } from '@pipeline/contracts';

/** Page sizes of a job list (`?limit=`): 100 when absent, at most 1,000. */
export const JOB_PAGE_LIMITS = { defaultLimit: 100, maxLimit: 1_000 } as const;

/** Where a page ends: the last job it holds, in list order. */
export interface JobCursor {
  submittedAt: string;
  jobId: string;
}

/** One page of a job list; `next_cursor` is null on the last page. */
export interface JobPage<T> {
  jobs: T[];
  next_cursor: string | null;
}

/**
 * Reads the paging parameters of a job list from a query string: `limit` (an integer 1..1000,
 * default 100) and `cursor` (the `next_cursor` of an earlier page, opaque to clients). Throws
 * InvalidArgumentError naming the parameter:
 *   limit must be an integer from 1 to 1000, got "5000"
 *   cursor must be the next_cursor of an earlier page, got "abc"
 */
export function readJobPageQuery(query: { limit?: unknown; cursor?: unknown }): { limit: number; after?: JobCursor } {
  let limit: number = JOB_PAGE_LIMITS.defaultLimit;
  if (query.limit !== undefined) {
    const n = typeof query.limit === 'string' && /^\d{1,7}$/.test(query.limit) ? Number(query.limit) : Number.NaN;
    if (!(n >= 1 && n <= JOB_PAGE_LIMITS.maxLimit)) {
      throw new InvalidArgumentError(`limit must be an integer from 1 to ${JOB_PAGE_LIMITS.maxLimit}, got ${quote(query.limit)}`, 'limit');
    }
    limit = n;
  }
  if (query.cursor === undefined) return { limit };
  const after = typeof query.cursor === 'string' ? decodeCursor(query.cursor) : undefined;
  if (!after) throw new InvalidArgumentError(`cursor must be the next_cursor of an earlier page, got ${quote(query.cursor)}`, 'cursor');
  return { limit, after };
}

/**
 * A page of `jobs` (in any order) listed newest submission first, ties by job id descending: the
 * first `limit` jobs that come after `after`. The cursor names a position, not an index, so jobs
 * submitted or deleted between two calls neither repeat nor skip the jobs of later pages.
 * Example: submitted at 10:02 (b), 10:01 (a, c), limit 2 → [b, c] and a cursor at c; then → [a], null.
 */
export function pageJobs<T extends { job_id: string; submitted_at: string }>(jobs: Iterable<T>, opts: { limit: number; after?: JobCursor }): JobPage<T> {
  const { after } = opts;
  const rest = [...jobs].filter((j) => after === undefined || compareNewestFirst(j, after) > 0).sort((x, y) => compareNewestFirst(x, { submittedAt: y.submitted_at, jobId: y.job_id }));
  const page = rest.slice(0, opts.limit);
  const last = page[page.length - 1];
  const more = rest.length > page.length && last !== undefined;
  return { jobs: page, next_cursor: more ? encodeCursor({ submittedAt: last.submitted_at, jobId: last.job_id }) : null };
}

/** < 0 when `job` comes before the position `c` in the list, > 0 after it. */
function compareNewestFirst(job: { job_id: string; submitted_at: string }, c: JobCursor): number {
  if (job.submitted_at !== c.submittedAt) return job.submitted_at > c.submittedAt ? -1 : 1;
  return job.job_id === c.jobId ? 0 : job.job_id > c.jobId ? -1 : 1;
}

function encodeCursor(c: JobCursor): string {
  return Buffer.from(JSON.stringify([c.submittedAt, c.jobId]), 'utf8').toString('base64url');
}

function decodeCursor(text: string): JobCursor | undefined {
  if (text.length === 0 || text.length > 2_048 || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  try {
    const v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') return { submittedAt: v[0], jobId: v[1] };
  } catch {
    // not JSON: not a cursor of ours
  }
  return undefined;
}

function quote(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

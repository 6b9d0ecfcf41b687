import { InvalidArgumentError } from '@pipeline/contracts';
import { JOB_PAGE_LIMITS, pageJobs, readJobPageQuery } from './pageJobs';

const job = (job_id: string, submitted_at: string) => ({ job_id, submitted_at });
// b newest; a and c share a submission time (ties by job id descending: c before a)
const jobs = [job('a', '2026-12-01T10:01:00.000Z'), job('b', '2026-12-01T10:02:00.000Z'), job('c', '2026-12-01T10:01:00.000Z'), job('d', '2026-12-01T09:00:00.000Z')];
const ids = (page: { jobs: { job_id: string }[] }) => page.jobs.map((j) => j.job_id);
const messageOf = (f: () => unknown): [string | undefined, string] => {
  try {
    f();
  } catch (e) {
    if (e instanceof InvalidArgumentError) return [e.field, e.message];
    throw e;
  }
  throw new Error('no error');
};

describe('pageJobs', () => {
  it('lists newest submission first, ties by job id descending, and walks every job exactly once by next_cursor', () => {
    const first = pageJobs(jobs, { limit: 2 });
    expect(ids(first)).toEqual(['b', 'c']);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = pageJobs(jobs, { limit: 2, after: readJobPageQuery({ cursor: first.next_cursor }).after });
    expect([ids(second), second.next_cursor]).toEqual([['a', 'd'], null]);
    expect(pageJobs(jobs, { limit: 4 })).toEqual({ jobs: [jobs[1], jobs[2], jobs[0], jobs[3]], next_cursor: null });
    expect(pageJobs([], { limit: 100 })).toEqual({ jobs: [], next_cursor: null });
  });

  it('neither repeats nor skips a job when jobs are submitted or deleted between two pages', () => {
    const first = pageJobs(jobs, { limit: 2 }); // b, c
    const after = readJobPageQuery({ cursor: first.next_cursor }).after;
    const later = [...jobs.filter((j) => j.job_id !== 'c'), job('e', '2026-12-01T11:00:00.000Z')]; // e submitted, c (the cursor's job) deleted
    expect(ids(pageJobs(later, { limit: 2, after }))).toEqual(['a', 'd']);
  });

  it('gives the cursor of the last job of a page, so a page of exactly the remaining jobs ends the list', () => {
    const page = pageJobs(jobs.slice(0, 2), { limit: 2 });
    expect([ids(page), page.next_cursor]).toEqual([['b', 'a'], null]);
  });
});

describe('readJobPageQuery', () => {
  it('reads limit (default 100, 1..1000) and a cursor handed out by pageJobs', () => {
    expect(readJobPageQuery({})).toEqual({ limit: JOB_PAGE_LIMITS.defaultLimit });
    expect(JOB_PAGE_LIMITS).toEqual({ defaultLimit: 100, maxLimit: 1000 });
    expect(readJobPageQuery({ limit: '1' })).toEqual({ limit: 1 });
    const cursor = pageJobs(jobs, { limit: 1 }).next_cursor;
    expect(readJobPageQuery({ limit: '1000', cursor })).toEqual({ limit: 1000, after: { submittedAt: '2026-12-01T10:02:00.000Z', jobId: 'b' } });
  });

  it('refuses a limit that is not an integer from 1 to 1000 and a cursor it did not hand out, naming the parameter', () => {
    for (const limit of ['0', '1001', '1.5', 'ten', '1e3', '', '-1', '00000001001', ['1', '2']]) {
      expect(messageOf(() => readJobPageQuery({ limit }))).toEqual(['limit', `limit must be an integer from 1 to 1000, got ${JSON.stringify(limit)}`]);
    }
    for (const cursor of ['', 'abc', 'not a cursor!', Buffer.from('[1,2]').toString('base64url'), ['a', 'b']]) {
      expect(messageOf(() => readJobPageQuery({ cursor }))).toEqual(['cursor', `cursor must be the next_cursor of an earlier page, got ${JSON.stringify(cursor)}`]);
    }
  });
});

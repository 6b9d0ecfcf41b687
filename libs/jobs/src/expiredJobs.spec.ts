import { expiredJobs } from './expiredJobs';

const HOUR = 3_600_000;
const NOW = Date.parse('2026-12-08T12:00:00.000Z');
const WEEK = 168 * HOUR;

describe('expiredJobs', () => {
  it('expires finished jobs that ended more than the retention before now, by finished_at', () => {
    const jobs = [
      { job_id: 'old', finished: true, finished_at: '2026-12-01T11:59:00.000Z', fallbackAt: '2026-12-08T00:00:00.000Z' },
      { job_id: 'young', finished: true, finished_at: '2026-12-01T12:01:00.000Z', fallbackAt: '2026-11-01T00:00:00.000Z' },
      { job_id: 'exactly', finished: true, finished_at: '2026-12-01T12:00:00.000Z', fallbackAt: '2026-11-01T00:00:00.000Z' },
    ];
    expect(expiredJobs(jobs, NOW, WEEK)).toEqual(['old']);
  });

  it('never expires a queued or running job, however old', () => {
    expect(expiredJobs([{ job_id: 'stuck', finished: false, fallbackAt: '2020-01-01T00:00:00.000Z' }], NOW, WEEK)).toEqual([]);
  });

  it('uses the fallback time when finished_at is absent or unreadable, and keeps a job whose times cannot be read', () => {
    const jobs = [
      { job_id: 'no-finish', finished: true, fallbackAt: '2026-11-30T00:00:00.000Z' },
      { job_id: 'bad-finish', finished: true, finished_at: 'yesterday', fallbackAt: '2026-11-30T00:00:00.000Z' },
      { job_id: 'unreadable', finished: true, finished_at: 'yesterday', fallbackAt: 'last week' },
    ];
    expect(expiredJobs(jobs, NOW, WEEK)).toEqual(['no-finish', 'bad-finish']);
  });
});

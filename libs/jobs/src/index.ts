// Public API of @pipeline/jobs: the job-status views of pipeline.ml.jobs and pipeline.batch.jobs and
// their writes, shared by the gateway (submit, status, cancel) and the workers that run the jobs.
export { BatchJobsView } from './BatchJobsView';
export type { BatchJobsViewOptions } from './BatchJobsView';
export { MlJobsView } from './MlJobsView';
export type { MlJobsViewOptions } from './MlJobsView';
export { pageJobs, readJobPageQuery, JOB_PAGE_LIMITS } from './pageJobs';
export type { JobCursor, JobPage } from './pageJobs';
export { expiredJobs } from './expiredJobs';
export type { RetainedJob } from './expiredJobs';
export { startRetentionSweep, JOB_RETENTION_SWEEP_INTERVAL_MS } from './startRetentionSweep';

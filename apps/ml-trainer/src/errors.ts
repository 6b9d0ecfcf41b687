import { PipelineError } from '@pipeline/contracts';

/**
 * Why a job was stopped while it ran. Both are final (not retriable): the job ends with them and its
 * command is committed, so a stopped job is never run again after a restart. A stop for any other
 * reason (shutdown) leaves the command uncommitted and the job runs again (see trainerService).
 */

/** The job ran longer than ML_JOB_TIMEOUT_MS: it ends `failed` with code `job_timeout`. */
export class JobTimeoutError extends PipelineError {
  constructor(readonly limitMs: number) {
    super('job_timeout', `training job did not finish within ${limitMs} ms (ML_JOB_TIMEOUT_MS) and was stopped`);
  }
}

/** A cancel marker was written for the job (DELETE /pipeline/ml/jobs/{id}): it ends `cancelled`. */
export class JobCancelledError extends PipelineError {
  constructor() {
    super('job_cancelled', 'training job cancelled on request (DELETE /pipeline/ml/jobs/{job_id})');
  }
}

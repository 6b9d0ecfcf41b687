import { PipelineError } from '@pipeline/contracts';

/**
 * Errors of the batch-processor. Task code reads only `retriable`: a retriable error leaves the
 * task's offset uncommitted so Kafka delivers it again (to this or another replica, until the job's
 * deadline); a non-retriable one (both of these) fails the job with the message as its reason.
 */
export class BatchJobFailure extends PipelineError {
  constructor(message: string) {
    super('batch_job_failed', message);
  }
}

/** The read was stopped on purpose (cancel marker, job finished elsewhere, deadline); not an error of the job. */
export class TaskAborted extends PipelineError {
  constructor(message: string) {
    super('task_aborted', message);
  }
}

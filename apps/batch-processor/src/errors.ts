/**
 * Errors of the batch-processor. Task code reads only `retriable`: a retriable error leaves the
 * task's offset uncommitted so Kafka delivers it again (to this or another replica, until the job's
 * deadline); a non-retriable one fails the job with the message as its reason.
 */
export class BatchJobFailure extends Error {
  readonly retriable = false;
  override readonly name = 'BatchJobFailure';
}

/** The read was stopped on purpose (cancel marker, job finished elsewhere, deadline); not an error of the job. */
export class TaskAborted extends Error {
  readonly retriable = false;
  override readonly name = 'TaskAborted';
}

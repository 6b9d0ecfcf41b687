/**
 * A cancel marker: what the gateway writes, under the job's status key + `/cancel`, on the job topic
 * of a queued or running job (`job/<id>/cancel` on pipeline.batch.jobs, `<id>/cancel` on
 * pipeline.ml.jobs). The service running the job stops it and ends it `cancelled`; the marker is
 * deleted with the job's other keys after its retention.
 */
export interface JobCancelRecord {
  job_id: string;
  /** ISO-8601, when the cancel was asked for. */
  requested_at: string;
}

import {
  INTERNAL_TOPICS,
  batchJobKeys,
  parseBatchJobKey,
  type BatchCancelRecord,
  type BatchJobRecord,
  type BatchPartialRecord,
  type BatchProgressRecord,
} from '@pipeline/contracts';
import { CompactedTopicView, type EventBus } from '@pipeline/kafka';

type Entry = BatchJobRecord | BatchProgressRecord | BatchPartialRecord | BatchCancelRecord;

/**
 * The batch-processor's read/write access to pipeline.batch.jobs (keys in @pipeline/contracts
 * batchSchemas.ts): a view of every key, kept current by its own consumer, plus the writes. Each
 * replica has its own view, so `catchUp()` after a write gives read-your-writes across replicas.
 */
export class JobStore {
  private readonly view: CompactedTopicView<Entry>;
  private readonly topic = INTERNAL_TOPICS.batchJobs;

  constructor(private readonly bus: EventBus) {
    this.view = new CompactedTopicView<Entry>(bus, {
      topic: this.topic,
      groupPrefix: 'pipeline-batch-processor-view',
      decode: (m) => {
        if (m.key === null || parseBatchJobKey(m.key) === undefined) return undefined;
        try {
          return JSON.parse(m.value.toString('utf8')) as Entry;
        } catch {
          return undefined;
        }
      },
    });
  }

  start(): Promise<void> {
    return this.view.start();
  }
  stop(): Promise<void> {
    return this.view.stop();
  }
  catchUp(timeoutMs?: number): Promise<void> {
    return this.view.catchUp(timeoutMs);
  }

  status(jobId: string): BatchJobRecord | undefined {
    return this.view.get(batchJobKeys.status(jobId)) as BatchJobRecord | undefined;
  }
  cancelRequested(jobId: string): boolean {
    return this.view.get(batchJobKeys.cancel(jobId)) !== undefined;
  }
  partial(jobId: string, task: number): BatchPartialRecord | undefined {
    return this.view.get(batchJobKeys.partial(jobId, task)) as BatchPartialRecord | undefined;
  }
  /** Every job's status record. */
  *statuses(): Iterable<BatchJobRecord> {
    for (const [key, value] of this.view.entries()) if (parseBatchJobKey(key)?.kind === 'status') yield value as BatchJobRecord;
  }

  writeStatus(record: BatchJobRecord): Promise<void> {
    return this.bus.publish({ topic: this.topic, key: batchJobKeys.status(record.job_id), value: JSON.stringify(record) });
  }
  writeProgress(record: BatchProgressRecord): Promise<void> {
    return this.bus.publish({ topic: this.topic, key: batchJobKeys.progress(record.job_id, record.task), value: JSON.stringify(record) });
  }
  writePartial(record: BatchPartialRecord): Promise<void> {
    return this.bus.publish({ topic: this.topic, key: batchJobKeys.partial(record.job_id, record.task), value: JSON.stringify(record) });
  }
  /** Empties the progress and partial keys of a finished job (empty value = deleted in every view). */
  clearTasks(jobId: string, tasks: number): Promise<void> {
    const keys = Array.from({ length: tasks }, (_, i) => [batchJobKeys.progress(jobId, i), batchJobKeys.partial(jobId, i)]).flat();
    return this.bus.publishBatch(keys.map((key) => ({ topic: this.topic, key, value: '' })));
  }
}

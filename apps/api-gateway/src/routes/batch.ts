import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import {
  BATCH_JOB_STATUSES,
  BatchJobSchema,
  BatchProcessRequestSchema,
  ContractError,
  INTERNAL_TOPICS,
  batchJobKeys,
  isTerminalBatchStatus,
  parseBatchJobKey,
  summarizeBatchJob,
  type BatchCancelRecord,
  type BatchCommand,
  type BatchJob,
  type BatchJobRecord,
  type BatchJobStatus,
  type BatchProgressRecord,
} from '@pipeline/contracts';
import { BatchInputError, readBatchRequest, type BatchRequest } from '@pipeline/batch';
import { BusError, BusUnavailableError, CompactedTopicView, toBusError, type EventBus } from '@pipeline/kafka';
import { HttpError } from '@pipeline/service-runtime';
import { commonErrors, type OpenApiPaths } from '../openapi';

type Entry = BatchJobRecord | BatchProgressRecord | BatchCancelRecord;

/**
 * The gateway's view of pipeline.batch.jobs: status records, task progress and cancel markers
 * (partials are skipped unparsed), with waiters for a job's end.
 */
export class BatchJobsView {
  private readonly records = new Map<string, BatchJobRecord>();
  private readonly progress = new Map<string, Map<number, BatchProgressRecord>>();
  private readonly cancels = new Set<string>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly view: CompactedTopicView<Entry>;

  constructor(bus: EventBus) {
    this.view = new CompactedTopicView<Entry>(bus, {
      topic: INTERNAL_TOPICS.batchJobs,
      groupPrefix: 'pipeline-gateway-batch-view',
      decode: (m) => {
        const k = m.key === null ? undefined : parseBatchJobKey(m.key);
        if (k === undefined || k.kind === 'partial') return undefined;
        try {
          return JSON.parse(m.value.toString('utf8')) as Entry;
        } catch {
          return undefined;
        }
      },
      onUpdate: (key, value) => this.apply(key, value),
    });
  }

  private apply(key: string, value: Entry | undefined): void {
    const k = parseBatchJobKey(key);
    if (!k) return;
    if (k.kind === 'status') {
      if (value) this.records.set(k.jobId, value as BatchJobRecord);
      else this.records.delete(k.jobId);
      const w = this.waiters.get(k.jobId);
      if (w) for (const f of w) f();
    } else if (k.kind === 'progress') {
      let m = this.progress.get(k.jobId);
      if (!m) this.progress.set(k.jobId, (m = new Map()));
      if (value) m.set(k.task, value as BatchProgressRecord);
      else if (m.delete(k.task) && m.size === 0) this.progress.delete(k.jobId);
    } else if (k.kind === 'cancel') {
      if (value) this.cancels.add(k.jobId);
      else this.cancels.delete(k.jobId);
    }
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

  get(jobId: string): BatchJob | undefined {
    const r = this.records.get(jobId);
    return r && summarizeBatchJob(r, [...(this.progress.get(jobId)?.values() ?? [])], this.cancels.has(jobId));
  }

  /** Every job, newest submission first. */
  list(): BatchJob[] {
    return [...this.records.keys()].map((id) => this.get(id)!).sort((a, b) => (a.submitted_at < b.submitted_at ? 1 : a.submitted_at > b.submitted_at ? -1 : 0));
  }

  counts(): { jobs: Record<BatchJobStatus, number>; eventsProcessed: number } {
    const jobs = Object.fromEntries(BATCH_JOB_STATUSES.map((s) => [s, 0])) as Record<BatchJobStatus, number>;
    let eventsProcessed = 0;
    for (const r of this.records.values()) {
      jobs[r.status]++;
      if (r.status === 'succeeded') eventsProcessed += r.events_read ?? 0;
    }
    return { jobs, eventsProcessed };
  }

  /** Resolves with the job once it is terminal, or with its latest state after `timeoutMs`. */
  waitForEnd(jobId: string, timeoutMs: number): Promise<BatchJob | undefined> {
    const done = () => {
      const r = this.records.get(jobId);
      return r !== undefined && isTerminalBatchStatus(r.status);
    };
    if (done() || timeoutMs <= 0) return Promise.resolve(this.get(jobId));
    return new Promise((resolve) => {
      let set = this.waiters.get(jobId);
      if (!set) this.waiters.set(jobId, (set = new Set()));
      const finish = () => {
        clearTimeout(timer);
        set!.delete(check);
        if (set!.size === 0) this.waiters.delete(jobId);
        resolve(this.get(jobId));
      };
      const check = () => {
        if (done()) finish();
      };
      const timer = setTimeout(finish, timeoutMs);
      set.add(check);
    });
  }
}

/** How a job is listed (GET /pipeline/spark/jobs): everything but the result. */
const listed = (j: BatchJob): Omit<BatchJob, 'result'> => {
  const { result: _result, ...rest } = j;
  return rest;
};

async function publishOrFail(bus: EventBus, messages: { topic: string; key: string; value: string }[]): Promise<void> {
  try {
    for (const m of messages) await bus.publish(m);
  } catch (e) {
    if (e instanceof BusUnavailableError) throw new HttpError(503, 'kafka_unavailable', 'Kafka is unavailable; the job was not submitted — retry later', undefined, { 'Retry-After': '5' });
    if (e instanceof BusError && /MESSAGE_TOO_LARGE|too large/i.test(e.message)) {
      throw new HttpError(413, 'payload_too_large', 'the inline events are larger than one Kafka message allows; publish them to a topic and submit a job with "source"');
    }
    throw e;
  }
}

/** 400 naming `field` when `topic` does not exist (a job on it could only fail); 503 when Kafka cannot say. */
async function requireTopic(bus: EventBus, topic: string, field: string): Promise<void> {
  let partitions: number[];
  try {
    partitions = await bus.partitionsFor(topic);
  } catch (e) {
    const err = toBusError(e);
    if (err.retriable) throw new HttpError(503, 'kafka_unavailable', 'Kafka is unavailable; the job was not submitted — retry later', undefined, { 'Retry-After': '5' });
    throw new HttpError(400, 'invalid_request', `${field} must name an existing topic, got ${JSON.stringify(topic)}`);
  }
  if (partitions.length === 0) throw new HttpError(400, 'invalid_request', `${field} must name an existing topic, got ${JSON.stringify(topic)}`);
}

/**
 * The batch job REST surface (compatible with the report's /pipeline/spark routes). The gateway
 * validates, publishes the command and reads job state from `view`; the batch-processor does the work.
 */
export function batchRoutes(app: Express, deps: { bus: EventBus; view: BatchJobsView; syncWaitMs: number }): void {
  const { bus, view, syncWaitMs } = deps;

  /** The job, after catching up once if this gateway has not seen it yet (read-your-writes after a 202). */
  const find = async (id: string): Promise<BatchJob> => {
    let job = view.get(id);
    if (!job) {
      await view.catchUp(5_000).catch(() => undefined);
      job = view.get(id);
    }
    if (!job) throw new HttpError(404, 'job_not_found', `no batch job with id ${JSON.stringify(id)}`);
    return job;
  };

  app.post('/pipeline/spark/process', async (req, res) => {
    const body = req.body as unknown;
    let parsed: BatchRequest;
    try {
      parsed = readBatchRequest(body); // the same validator the batch-processor runs on the command
    } catch (e) {
      if (e instanceof BatchInputError || e instanceof ContractError) throw new HttpError(400, 'invalid_request', e.message);
      throw e;
    }
    const request = body as Record<string, unknown>;
    const inline = parsed.input.kind !== 'source';
    if (parsed.input.kind === 'source') {
      for (const range of parsed.input.sources) await requireTopic(bus, range.topic, range.side === 'right' ? 'right_source.topic' : 'source.topic');
    }
    const jobId = randomUUID();
    const submittedAt = new Date().toISOString();
    const queued: BatchJobRecord = { job_id: jobId, operation: String(request['operation']), status: 'queued', submitted_at: submittedAt };
    const command: BatchCommand = { job_id: jobId, request, submitted_at: submittedAt };
    // The queued record goes first so that the processor's "running" always follows it.
    await publishOrFail(bus, [
      { topic: INTERNAL_TOPICS.batchJobs, key: batchJobKeys.status(jobId), value: JSON.stringify(queued) },
      { topic: INTERNAL_TOPICS.batchCommands, key: jobId, value: JSON.stringify(command) },
    ]);
    if (inline) {
      const job = await view.waitForEnd(jobId, syncWaitMs);
      if (job?.status === 'succeeded') return void res.status(200).json(job);
      if (job?.status === 'failed') throw new HttpError(400, 'job_failed', job.reason ?? 'the job failed', { job_id: jobId });
    }
    res.status(202).json({ job_id: jobId, status: view.get(jobId)?.status ?? 'queued' });
  });

  app.get('/pipeline/spark/status', (_req, res) => {
    const { jobs, eventsProcessed } = view.counts();
    res.json({ status: 'ok', mode: bus.kind === 'kafka' ? 'kafka' : 'embedded', events_processed: eventsProcessed, jobs });
  });

  app.get('/pipeline/spark/jobs', (req, res) => {
    const status = req.query['status'];
    if (status !== undefined && !(BATCH_JOB_STATUSES as readonly unknown[]).includes(status)) {
      throw new HttpError(400, 'invalid_request', `status must be one of ${BATCH_JOB_STATUSES.join(', ')}, got ${JSON.stringify(status)}`);
    }
    const jobs = view.list().filter((j) => status === undefined || j.status === status);
    res.json({ jobs: jobs.map(listed), count: jobs.length });
  });

  app.get('/pipeline/spark/jobs/:id', async (req, res) => {
    res.json(await find(req.params['id'] as string));
  });

  app.delete('/pipeline/spark/jobs/:id', async (req, res) => {
    const id = req.params['id'] as string;
    const job = await find(id);
    if (isTerminalBatchStatus(job.status)) throw new HttpError(409, 'job_finished', `batch job ${id} already ${job.status}; only queued or running jobs can be cancelled`);
    const marker: BatchCancelRecord = { job_id: id, requested_at: new Date().toISOString() };
    await publishOrFail(bus, [{ topic: INTERNAL_TOPICS.batchJobs, key: batchJobKeys.cancel(id), value: JSON.stringify(marker) }]);
    const after = (await view.waitForEnd(id, syncWaitMs)) ?? job;
    res.status(isTerminalBatchStatus(after.status) ? 200 : 202).json(isTerminalBatchStatus(after.status) ? after : { ...after, cancel_requested: true });
  });
}

/** The contracts' TypeBox schemas, inlined (without `$id`) so the document needs no extra components. */
const schema = (s: object): object => JSON.parse(JSON.stringify(s, (k, v) => (k === '$id' ? undefined : v))) as object;
const SCHEMAS: Record<string, object> = { BatchProcessRequest: schema(BatchProcessRequestSchema), BatchJob: schema(BatchJobSchema), ErrorResponse: { $ref: '#/components/schemas/ErrorResponse' } };
const ref = (name: string) => SCHEMAS[name]!;
const json = (schema: object) => ({ 'application/json': { schema } });
const jobIdParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const notFound = { '404': { description: 'No job with this id', content: json(ref('ErrorResponse')) } };

/** OpenAPI operations of the batch routes (request and job schemas from @pipeline/contracts). */
export const batchOpenApiPaths: OpenApiPaths = {
  '/pipeline/spark/process': {
    post: {
      summary: 'Submit a batch job (process_batch, time_window_metrics, join, detect_anomalies)',
      description: 'Validated here against the schema of the operation, with the same validator the batch-processor runs (400 names the field; unknown fields and topics that do not exist are refused); inline jobs that finish within SYNC_WAIT_MS are answered 200 with the job and its result, a failing inline job 400 with the reason; everything else 202 with the job id.',
      requestBody: { required: true, content: json(ref('BatchProcessRequest')) },
      responses: {
        '200': { description: 'Inline job finished', content: json(ref('BatchJob')) },
        '202': { description: 'Job submitted', content: json({ type: 'object', properties: { job_id: { type: 'string' }, status: { type: 'string' } }, required: ['job_id', 'status'] }) },
        ...commonErrors,
      },
    },
  },
  '/pipeline/spark/status': {
    get: {
      summary: 'Batch service status: mode, events processed by succeeded jobs, job counts by state',
      responses: {
        '200': {
          description: 'Status',
          content: json({
            type: 'object',
            properties: {
              status: { const: 'ok' },
              mode: { enum: ['kafka', 'embedded'] },
              events_processed: { type: 'integer' },
              jobs: { type: 'object', properties: Object.fromEntries(BATCH_JOB_STATUSES.map((s) => [s, { type: 'integer' }])) },
            },
          }),
        },
      },
    },
  },
  '/pipeline/spark/jobs': {
    get: {
      summary: 'List batch jobs, newest first (without results)',
      parameters: [{ name: 'status', in: 'query', required: false, schema: { enum: [...BATCH_JOB_STATUSES] } }],
      responses: { '200': { description: 'Jobs', content: json({ type: 'object', properties: { jobs: { type: 'array', items: ref('BatchJob') }, count: { type: 'integer' } } }) }, '400': commonErrors['400'] },
    },
  },
  '/pipeline/spark/jobs/{id}': {
    get: { summary: 'A batch job: status, progress, result or reason', parameters: [jobIdParam], responses: { '200': { description: 'The job', content: json(ref('BatchJob')) }, ...notFound } },
    delete: {
      summary: 'Cancel a queued or running job',
      parameters: [jobIdParam],
      responses: {
        '200': { description: 'Cancelled', content: json(ref('BatchJob')) },
        '202': { description: 'Cancel requested; the job ends "cancelled" at its next chunk', content: json(ref('BatchJob')) },
        ...notFound,
        '409': { description: 'The job already ended', content: json(ref('ErrorResponse')) },
      },
    },
  },
};

import type { Express, Response } from 'express';
import { BATCH_JOB_STATUSES, BatchJobSchema, BatchProcessRequestSchema, ContractError, InvalidArgumentError, isTerminalBatchStatus, type BatchJob, type BatchJobStatus } from '@pipeline/contracts';
import { BatchInputError, readBatchRequest, type BatchRequest } from '@pipeline/batch';
import { JOB_PAGE_LIMITS, readJobPageQuery, type BatchJobsView } from '@pipeline/jobs';
import { BusMessageTooLargeError, BusUnavailableError, toBusError, type EventBus } from '@pipeline/kafka';
import { HttpError } from '@pipeline/service-runtime';
import { hasScope, maySee, ownerOf } from '../auth';
import { commonErrors, inlineSchema, json, type OpenApiPaths } from '../openapi';

/** How a job is listed (GET /pipeline/spark/jobs): everything but the result. */
const listed = (j: BatchJob): Omit<BatchJob, 'result'> => {
  const { result: _result, ...rest } = j;
  return rest;
};

async function publishOrFail<T>(publish: () => Promise<T>): Promise<T> {
  try {
    return await publish();
  } catch (e) {
    if (e instanceof BusMessageTooLargeError) {
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
    if (err.retriable) throw new BusUnavailableError('Kafka is unavailable; the job was not submitted — retry later', { cause: e });
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

  /**
   * The job, after catching up once if this gateway has not seen it yet (read-your-writes after a
   * 202). Another key's job is answered as missing (404), so its id tells a stranger nothing.
   */
  const find = async (id: string, res: Response): Promise<BatchJob> => {
    const job = await view.find(id, 5_000);
    if (!job || !maySee(res, job.owner)) throw new HttpError(404, 'job_not_found', `no batch job with id ${JSON.stringify(id)}`);
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
    const inline = parsed.input.kind !== 'source';
    if (parsed.input.kind === 'source') {
      for (const range of parsed.input.sources) await requireTopic(bus, range.topic, range.side === 'right' ? 'right_source.topic' : 'source.topic');
    }
    const jobId = await publishOrFail(() => view.submit(body as Record<string, unknown>, new Date().toISOString(), { owner: ownerOf(res) }));
    if (inline) {
      const job = await view.waitForEnd(jobId, syncWaitMs);
      if (job?.status === 'succeeded') return void res.status(200).json(job);
      if (job?.status === 'failed') throw new HttpError(400, 'job_failed', job.reason ?? 'the job failed', { job_id: jobId });
    }
    res.status(202).json({ job_id: jobId, status: view.status(jobId)?.status ?? 'queued' });
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
    let paging: ReturnType<typeof readJobPageQuery>;
    try {
      paging = readJobPageQuery({ limit: req.query['limit'], cursor: req.query['cursor'] });
    } catch (e) {
      if (e instanceof InvalidArgumentError) throw new HttpError(400, 'invalid_request', e.message);
      throw e;
    }
    // A key sees its own jobs (and those submitted with auth off); admin keys see every job.
    const owner = hasScope(res, 'admin') ? undefined : ownerOf(res);
    const page = view.page({ status: status as BatchJobStatus | undefined, owner, ...paging });
    res.json({ jobs: page.jobs.map(listed), count: page.count, next_cursor: page.next_cursor });
  });

  app.get('/pipeline/spark/jobs/:id', async (req, res) => {
    res.json(await find(req.params['id'] as string, res));
  });

  app.delete('/pipeline/spark/jobs/:id', async (req, res) => {
    const id = req.params['id'] as string;
    const job = await find(id, res);
    if (isTerminalBatchStatus(job.status)) throw new HttpError(409, 'job_finished', `batch job ${id} already ${job.status}; only queued or running jobs can be cancelled`);
    await publishOrFail(() => view.requestCancel(id, new Date().toISOString()));
    const after = (await view.waitForEnd(id, syncWaitMs)) ?? job;
    res.status(isTerminalBatchStatus(after.status) ? 200 : 202).json(isTerminalBatchStatus(after.status) ? after : { ...after, cancel_requested: true });
  });
}

/** The contracts' TypeBox schemas, inlined so the document needs no extra components. */
const SCHEMAS: Record<string, object> = { BatchProcessRequest: inlineSchema(BatchProcessRequestSchema), BatchJob: inlineSchema(BatchJobSchema), ErrorResponse: { $ref: '#/components/schemas/ErrorResponse' } };
const ref = (name: string) => SCHEMAS[name]!;
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
      summary: 'List batch jobs, newest first (without results), a page at a time',
      description:
        `Jobs newest submission first (ties by job id), at most \`limit\` per answer; \`next_cursor\` is passed back as \`cursor\` for the next page and is null on the last. ` +
        'Finished jobs are deleted JOB_RETENTION_HOURS after they end (default 168).',
      parameters: [
        { name: 'status', in: 'query', required: false, schema: { enum: [...BATCH_JOB_STATUSES] } },
        { name: 'limit', in: 'query', required: false, description: 'Jobs per page', schema: { type: 'integer', minimum: 1, maximum: JOB_PAGE_LIMITS.maxLimit, default: JOB_PAGE_LIMITS.defaultLimit } },
        { name: 'cursor', in: 'query', required: false, description: 'The next_cursor of the previous page (opaque)', schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,2048}$' } },
      ],
      responses: {
        '200': {
          description: 'A page of jobs',
          content: json({
            type: 'object',
            properties: {
              jobs: { type: 'array', items: ref('BatchJob') },
              count: { type: 'integer', description: 'Jobs matching `status` in all pages' },
              next_cursor: { type: ['string', 'null'], description: 'Cursor of the next page; null on the last page' },
            },
            required: ['jobs', 'count', 'next_cursor'],
          }),
        },
        '400': commonErrors['400'],
      },
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

import type { Express } from 'express';
import { BATCH_JOB_STATUSES, BatchJobSchema, BatchProcessRequestSchema, ContractError, isTerminalBatchStatus, type BatchJob } from '@pipeline/contracts';
import { BatchInputError, readBatchRequest, type BatchRequest } from '@pipeline/batch';
import type { BatchJobsView } from '@pipeline/jobs';
import { BusMessageTooLargeError, BusUnavailableError, toBusError, type EventBus } from '@pipeline/kafka';
import { HttpError } from '@pipeline/service-runtime';
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

  /** The job, after catching up once if this gateway has not seen it yet (read-your-writes after a 202). */
  const find = async (id: string): Promise<BatchJob> => {
    const job = await view.find(id, 5_000);
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
    const inline = parsed.input.kind !== 'source';
    if (parsed.input.kind === 'source') {
      for (const range of parsed.input.sources) await requireTopic(bus, range.topic, range.side === 'right' ? 'right_source.topic' : 'source.topic');
    }
    const jobId = await publishOrFail(() => view.submit(body as Record<string, unknown>, new Date().toISOString()));
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

import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { Express, Response } from 'express';
import {
  ContractError,
  MlAnomaliesRequestSchema,
  MlClusterRequestSchema,
  MlJobStatusSchema,
  MlPredictRequestSchema,
  MlTrainRequestSchema,
  compileValidator,
  describeFirstError,
  isTerminalMlJobState,
  parseTrainRequest,
  type MlAnomaliesRequest,
  type MlClusterRequest,
  type MlJobStatus,
  type MlPredictRequest,
} from '@pipeline/contracts';
import { MlJobsView } from '@pipeline/jobs';
import type { EventBus } from '@pipeline/kafka';
import { MlInputError } from '@pipeline/ml';
import { createPredictorClient, type ModelInfo, type PredictorClient } from '@pipeline/proto';
import { HttpError } from '@pipeline/service-runtime';
import type { Registry } from 'prom-client';
import { createAdhocMlRunner, type AdhocMlRunner } from '../adhocMl';
import { hasScope, maySee, ownerOf } from '../auth';
import { commonErrors, inlineSchema, json, type OpenApiPaths } from '../openapi';
import { FeatureOrderCache, type FeatureOrder } from './FeatureOrderCache';
import { RestPredictMetrics } from './RestPredictMetrics';

const checkPredict = compileValidator(MlPredictRequestSchema);
const checkCluster = compileValidator(MlClusterRequestSchema);
const checkAnomalies = compileValidator(MlAnomaliesRequestSchema);

export interface MlRoutes {
  register(app: Express): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  openApiPaths: OpenApiPaths;
}

/**
 * /pipeline/ml/*: training jobs go to ml-trainer over Kafka (command + `queued` status), job status
 * comes from a view of `pipeline.ml.jobs`, predictions and model descriptions from ml-predictor over
 * gRPC, and the report's ad-hoc cluster/anomaly calls run the ML lib in `adhoc` (a worker thread in
 * the service; inline by default).
 */
export function createMlRoutes(opts: {
  bus: EventBus;
  predictorAddress: string;
  /** Sent to the predictor with every call (INTERNAL_TOKEN_FILE's first token). */
  internalToken?: string;
  predictTimeoutMs?: number;
  predictor?: PredictorClient;
  featureOrderCache?: ConstructorParameters<typeof FeatureOrderCache>[1];
  /** Where the `api="rest"` prediction metrics go (none if absent). */
  registry?: Registry;
  adhoc?: AdhocMlRunner;
  /** How long a cancel waits for the job to end before answering 202 (ms; SYNC_WAIT_MS). Default 0. */
  syncWaitMs?: number;
}): MlRoutes {
  const { bus } = opts;
  const syncWaitMs = opts.syncWaitMs ?? 0;
  const adhoc = opts.adhoc ?? createAdhocMlRunner();
  const restMetrics = opts.registry ? new RestPredictMetrics(opts.registry) : undefined;
  const jobs = new MlJobsView(bus, { groupPrefix: 'pipeline-gateway-ml-jobs' });
  const predictor = opts.predictor ?? createPredictorClient(opts.predictorAddress, { defaultTimeoutMs: opts.predictTimeoutMs ?? 2_000, token: opts.internalToken });
  const featureOrders = new FeatureOrderCache(async (modelName, version) => (await predictor.getModel({ modelName, version })).model!, opts.featureOrderCache);

  function register(app: Express): void {
    app.post('/pipeline/ml/train', async (req, res) => {
      let request;
      try {
        request = parseTrainRequest(req.body, { nowMs: Date.now() }); // the validator ml-trainer runs on the command too
      } catch (e) {
        if (e instanceof ContractError) throw new HttpError(400, 'invalid_request', e.message);
        throw e;
      }
      // A model name belongs to the key that trained it (while its jobs are kept): another key's new
      // version would be served to everyone, so only that key or an admin key may train it again.
      const owner = ownerOf(res);
      if (owner !== undefined && !hasScope(res, 'admin') && jobs.otherOwners(request.model_name, owner).length > 0) {
        throw new HttpError(403, 'forbidden', `model_name ${JSON.stringify(request.model_name)} is trained by another API key; choose another name or use an admin key`);
      }
      const jobId = await jobs.submit(request, new Date().toISOString(), { owner }); // Kafka down: 503 (errorHandler)
      res.status(202).json({ job_id: jobId, status: 'queued' });
    });

    /** The job, after catching up once if this gateway has not seen it yet. Another key's job is answered as missing (404), so its id tells a stranger nothing. */
    const findJob = async (id: string, res: Response): Promise<MlJobStatus> => {
      const job = await jobs.find(id, 3_000);
      if (!job || !maySee(res, job.owner)) throw new HttpError(404, 'job_not_found', `no training job with id ${JSON.stringify(id)}`);
      return job;
    };

    app.get('/pipeline/ml/jobs/:job_id', async (req, res) => {
      res.json(await findJob(req.params['job_id']!, res));
    });

    // As DELETE /pipeline/spark/jobs/{id}: a cancel marker on the jobs topic, which the trainer
    // running the job acts on (terminates its worker, ends it `cancelled`).
    app.delete('/pipeline/ml/jobs/:job_id', async (req, res) => {
      const id = req.params['job_id']!;
      const job = await findJob(id, res);
      if (isTerminalMlJobState(job.status)) throw new HttpError(409, 'job_finished', `training job ${id} already ${job.status}; only queued or running jobs can be cancelled`);
      await jobs.requestCancel(id, new Date().toISOString()); // Kafka down: 503 (errorHandler)
      const after = (await jobs.waitForEnd(id, syncWaitMs)) ?? job;
      if (isTerminalMlJobState(after.status)) return void res.status(200).json(after);
      res.status(202).json({ ...after, cancel_requested: true });
    });

    app.post('/pipeline/ml/predict', async (req, res) => {
      const r = validBody<MlPredictRequest>(checkPredict, req.body);
      if ((r.features === undefined) === (r.rows === undefined)) throw new HttpError(400, 'invalid_request', 'give exactly one of features (arrays of numbers) or rows (objects keyed by feature name)');
      if (r.features) {
        const nFeatures = r.features[0]!.length;
        r.features.forEach((row, i) => {
          if (row.length !== nFeatures) throw new HttpError(400, 'invalid_request', `features[${i}] has ${row.length} values, expected ${nFeatures} like features[0]`);
        });
      }
      const version = r.version ?? 0;
      const done = restMetrics?.start();
      try {
        await predictValidated(r, version, res);
        done?.(r.model_name, true);
      } catch (e) {
        done?.(r.model_name, false);
        throw e;
      }
    });

    async function predictValidated(r: MlPredictRequest, version: number, res: Response): Promise<void> {
      if (r.features) {
        const nFeatures = r.features[0]!.length;
        const values = r.features.flat();
        const out = await grpcCall(() => predictor.predict({ modelName: r.model_name, version, values, nFeatures }));
        res.json({ predictions: out.predictions, model_name: out.modelName, model_version: out.modelVersion });
        return;
      }
      // Rows keyed by feature name: laid out in the column order of the version we then pin, so a
      // concurrent hot swap cannot reorder columns. If the predictor no longer serves a latest
      // version we had cached, look the latest up again (once).
      for (let attempt = 0; ; attempt++) {
        const order = await grpcCall(() => featureOrders.get(r.model_name, version));
        const laidOut = layOutRows(r.rows!, order);
        try {
          const out = await predictor.predict({ modelName: r.model_name, version: order.version, values: laidOut, nFeatures: order.featureKeys.length });
          res.json({ predictions: out.predictions, model_name: out.modelName, model_version: out.modelVersion });
          return;
        } catch (e) {
          if (version === 0 && attempt === 0 && (e as ServiceError)?.code === GrpcStatus.NOT_FOUND) {
            featureOrders.forgetLatest(r.model_name);
            continue;
          }
          throw restErrorOf(e);
        }
      }
    }

    app.get('/pipeline/ml/models', async (_req, res) => {
      const { models } = await grpcCall(() => predictor.listModels());
      const latest = new Map<string, { info: ModelInfo; versions: number[] }>();
      for (const m of models) {
        const e = latest.get(m.name);
        if (!e) latest.set(m.name, { info: m, versions: [m.version] });
        else {
          e.versions.push(m.version);
          if (m.version > e.info.version) e.info = m;
        }
      }
      const names = [...latest.keys()].sort();
      res.json({
        models: names,
        count: names.length,
        details: names.map((n) => {
          const { info, versions } = latest.get(n)!;
          return { ...describe(info, false), versions: versions.sort((a, b) => a - b) };
        }),
      });
    });

    app.get('/pipeline/ml/models/:name', async (req, res) => {
      const raw = req.query['version'];
      const version = raw === undefined ? 0 : Number(raw);
      if (!Number.isInteger(version) || (raw !== undefined && version < 1)) throw new HttpError(400, 'invalid_request', `version must be a positive integer, got ${JSON.stringify(raw)}`);
      const { model } = await grpcCall(() => predictor.getModel({ modelName: req.params['name']!, version }));
      res.json(describe(model!, true));
    });

    app.post('/pipeline/ml/cluster', async (req, res) => {
      const r = validBody<MlClusterRequest>(checkCluster, req.body);
      res.json(await mlInput(adhoc.run({ op: 'cluster', features: r.features, nClusters: r.n_clusters, seed: r.seed ?? 0 })));
    });

    app.post('/pipeline/ml/anomalies', async (req, res) => {
      const r = validBody<MlAnomaliesRequest>(checkAnomalies, req.body);
      res.json(await mlInput(adhoc.run({ op: 'anomalies', features: r.features, contamination: r.contamination, seed: r.seed ?? 0 })));
    });
  }

  return {
    register,
    start: () => jobs.start(),
    async stop() {
      await jobs.stop();
      await adhoc.close();
      predictor.close();
    },
    openApiPaths: ML_OPENAPI_PATHS,
  };
}

function describe(m: ModelInfo, withImportances: boolean): Record<string, unknown> {
  return {
    name: m.name,
    version: m.version,
    type: m.type,
    feature_keys: m.featureKeys,
    metrics: m.metrics,
    trained_at: m.trainedAt,
    ...(withImportances ? { feature_importances: m.featureImportances } : {}),
  };
}

/** `rows` (objects keyed by feature name) as one row-major array in `order`'s column order. */
function layOutRows(rows: Record<string, number>[], order: FeatureOrder): number[] {
  const p = order.featureKeys.length;
  const values = new Array<number>(rows.length * p);
  rows.forEach((row, i) => {
    order.featureKeys.forEach((k, j) => {
      const v = Object.hasOwn(row, k) ? row[k] : undefined; // a feature named `constructor` is not Object
      if (v === undefined) throw new HttpError(400, 'invalid_request', `rows[${i}].${k} is required (model "${order.name}" version ${order.version} features: ${order.featureKeys.join(', ')})`);
      values[i * p + j] = v;
    });
  });
  return values;
}

/** `body` as a `T` when `check` passes, else 400 naming the first bad field. */
function validBody<T>(check: ReturnType<typeof compileValidator>, body: unknown): T {
  if (!check.Check(body)) throw new HttpError(400, 'invalid_request', Array.isArray(body) ? 'body must be a JSON object, got an array' : describeFirstError(check, body).message);
  return body as T;
}

async function mlInput<T>(result: Promise<T>): Promise<T> {
  try {
    return await result;
  } catch (e) {
    if (e instanceof MlInputError) throw new HttpError(400, 'invalid_request', e.message);
    throw e;
  }
}

/** Runs a call to ml-predictor, mapping its gRPC failure to the REST error shape. */
async function grpcCall<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw restErrorOf(e);
  }
}

/** The REST error of a gRPC failure of ml-predictor (the one place this mapping is done); other errors pass through. */
function restErrorOf(e: unknown): unknown {
  const err = e as ServiceError;
  if (typeof err?.code !== 'number') return e;
  switch (err.code) {
    case GrpcStatus.NOT_FOUND:
      return new HttpError(404, 'model_not_found', err.details);
    case GrpcStatus.INVALID_ARGUMENT:
      return new HttpError(400, 'invalid_request', err.details);
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return new HttpError(413, 'payload_too_large', `request too large for the predictor: ${err.details}`);
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new HttpError(503, 'predictor_unavailable', `the predictor is unavailable (${GrpcStatus[err.code]}: ${err.details}) — retry later`, undefined, { 'Retry-After': '1' });
    default:
      return new HttpError(502, 'predictor_error', `the predictor failed (${GrpcStatus[err.code] ?? err.code})`);
  }
}

const errorRef = { $ref: '#/components/schemas/ErrorResponse' };
const jobIdParam = { name: 'job_id', in: 'path', required: true, schema: { type: 'string' } };
const notFound = (what: string) => ({ '404': { description: what, content: json(errorRef) } });
const ModelDetails = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    version: { type: 'integer' },
    type: { type: 'string', description: 'random_forest | linear_regression | kmeans | isolation_forest' },
    feature_keys: { type: 'array', items: { type: 'string' } },
    metrics: { type: 'object', additionalProperties: { type: 'number' } },
    trained_at: { type: 'string', format: 'date-time' },
  },
};

export const ML_OPENAPI_PATHS: OpenApiPaths = {
  '/pipeline/ml/train': {
    post: {
      summary: 'Submit a training job (runs in ml-trainer; poll GET /pipeline/ml/jobs/{job_id})',
      requestBody: { required: true, content: json(inlineSchema(MlTrainRequestSchema)) },
      responses: { '202': { description: 'Queued', content: json({ type: 'object', properties: { job_id: { type: 'string' }, status: { const: 'queued' } } }) }, ...commonErrors },
    },
  },
  '/pipeline/ml/jobs/{job_id}': {
    get: {
      summary: 'Training job status: queued, running (progress 0…1), succeeded (model_version, metrics), failed (error, error_code; job_timeout after ML_JOB_TIMEOUT_MS) or cancelled',
      parameters: [jobIdParam],
      responses: { '200': { description: 'The job', content: json(inlineSchema(MlJobStatusSchema)) }, ...notFound('No job with this id') },
    },
    delete: {
      summary: 'Cancel a queued or running training job (scope train; only the key that submitted it, or an admin key)',
      description:
        'Writes a cancel marker the trainer acts on: a running job has its training stopped (its worker thread terminated) and ends "cancelled"; a queued job ends "cancelled" without training when its turn comes. ' +
        'Answered 200 with the job when it has ended within SYNC_WAIT_MS, else 202 with cancel_requested; 409 job_finished when it already ended (succeeded, failed or cancelled).',
      parameters: [jobIdParam],
      responses: {
        '200': { description: 'Cancelled (or it ended otherwise while the cancel was pending: see status)', content: json(inlineSchema(MlJobStatusSchema)) },
        '202': { description: 'Cancel requested; the job ends "cancelled" shortly', content: json(inlineSchema(MlJobStatusSchema)) },
        ...notFound('No job with this id'),
        '409': { description: 'The job already ended', content: json(errorRef) },
        '503': commonErrors['503'],
      },
    },
  },
  '/pipeline/ml/predict': {
    post: {
      summary: 'Predict with a trained model (served by ml-predictor over gRPC)',
      requestBody: { required: true, content: json(inlineSchema(MlPredictRequestSchema)) },
      responses: {
        '200': {
          description: 'One prediction per row (regressors: target; kmeans: cluster index; isolation_forest: anomaly score)',
          content: json({ type: 'object', properties: { predictions: { type: 'array', items: { type: 'number' } }, model_name: { type: 'string' }, model_version: { type: 'integer' } } }),
        },
        ...notFound('Unknown model or version'),
        ...commonErrors,
      },
    },
  },
  '/pipeline/ml/models': {
    get: {
      summary: 'Loaded models: names, count and details of each latest version',
      responses: {
        '200': {
          description: 'Models',
          content: json({ type: 'object', properties: { models: { type: 'array', items: { type: 'string' } }, count: { type: 'integer' }, details: { type: 'array', items: { ...ModelDetails, properties: { ...ModelDetails.properties, versions: { type: 'array', items: { type: 'integer' } } } } } } }),
        },
        '503': commonErrors['503'],
      },
    },
  },
  '/pipeline/ml/models/{name}': {
    get: {
      summary: 'One model version (default latest) with feature importances',
      parameters: [
        { name: 'name', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'version', in: 'query', required: false, schema: { type: 'integer', minimum: 1 } },
      ],
      responses: {
        '200': { description: 'Model', content: json({ ...ModelDetails, properties: { ...ModelDetails.properties, feature_importances: { type: 'object', additionalProperties: { type: 'number' } } } }) },
        ...notFound('Unknown model or version'),
        '503': commonErrors['503'],
      },
    },
  },
  '/pipeline/ml/cluster': {
    post: {
      summary: 'Ad-hoc k-means (k-means++, seeded) on the given rows (at most 10,000 rows of up to 1,000 values; computed in a worker thread, off the event loop)',
      requestBody: { required: true, content: json(inlineSchema(MlClusterRequestSchema)) },
      responses: {
        '200': { description: 'Clusters', content: json({ type: 'object', properties: { centers: { type: 'array', items: { type: 'array', items: { type: 'number' } } }, inertia: { type: 'number' }, labels: { type: 'array', items: { type: 'integer' } } } }) },
        ...commonErrors,
      },
    },
  },
  '/pipeline/ml/anomalies': {
    post: {
      summary: 'Ad-hoc Isolation Forest on the given rows (at most 10,000 rows of up to 1,000 values; computed in a worker thread, off the event loop)',
      requestBody: { required: true, content: json(inlineSchema(MlAnomaliesRequestSchema)) },
      responses: {
        '200': { description: 'Labels (1 normal, -1 anomaly) and scores (higher = more anomalous)', content: json({ type: 'object', properties: { labels: { type: 'array', items: { enum: [1, -1] } }, scores: { type: 'array', items: { type: 'number' } } } }) },
        ...commonErrors,
      },
    },
  },
};

import { Type, type Static } from '@sinclair/typebox';
import { ContractError } from './errors';
import { EVENT_TOPICS, isEventTopic } from './topics';
import { describeFirstError } from './describeFirstError';
import { compileValidator } from './validateEvent';

/**
 * Request bodies of the ML REST surface (`/pipeline/ml/*`) and the messages ml-trainer exchanges
 * with the gateway on `pipeline.ml.commands` / `pipeline.ml.jobs`. Field names are snake_case as
 * in the report's API. Sizes are bounded here so one request cannot pin the event loop.
 */

export const ML_MODEL_TYPES = ['random_forest', 'linear_regression', 'kmeans', 'isolation_forest'] as const;
export type MlModelType = (typeof ML_MODEL_TYPES)[number];

/** Model names become Kafka keys (`model/<name>/<version>`), so they cannot contain "/". */
const ModelName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$', description: 'Model name: letters, digits, ".", "_", "-" (at most 128), e.g. "session-duration"' });
const Time = Type.Union([Type.String({ format: 'date-time' }), Type.Number()], { description: 'ISO-8601 date-time or epoch milliseconds' });
/** Rows of numbers, as the report's `X`: at most 10,000 rows of at most 1,000 finite numbers. */
const FeatureRows = (description: string) =>
  Type.Array(Type.Array(Type.Number(), { minItems: 1, maxItems: 1000 }), { minItems: 1, maxItems: 10_000, description });

export const MlTrainSourceSchema = Type.Object(
  {
    topic: Type.Union(
      EVENT_TOPICS.map((t) => Type.Literal(t)),
      { description: 'Event topic to read training rows from' },
    ),
    from: Type.Optional(Time),
    to: Type.Optional(Time),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'At most this many rows (first in partition/offset order); default 1,000,000' })),
  },
  {
    $id: 'MlTrainSource',
    additionalProperties: false,
    description: 'Events whose record time is in [from, to): `to` defaults to the job start, `from` to 24 h before `to`. Each event becomes one row: its payload fields (nested objects flattened to dotted keys, e.g. "properties.cpu") over its top-level fields.',
  },
);

export const MlTrainRequestSchema = Type.Object(
  {
    model_name: ModelName,
    model_type: Type.Union(
      ML_MODEL_TYPES.map((t) => Type.Literal(t)),
      { description: 'Algorithm' },
    ),
    feature_keys: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { minItems: 1, maxItems: 1000, description: 'Row fields used as features, in model column order' }),
    target_key: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Row field to predict; required for random_forest and linear_regression' })),
    data: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()), { minItems: 1, description: 'Inline training rows (objects keyed by field name); give either data or source' })),
    source: Type.Optional(MlTrainSourceSchema),
    params: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: 'Hyper-parameters (camelCase as in the ML lib): seed, testFraction, scale; nEstimators, maxDepth, minSamplesLeaf, minSamplesSplit, maxFeatures, bootstrap, maxBins (random_forest); nClusters, maxIter, tol (kmeans); nEstimators, maxSamples, contamination (isolation_forest)',
      }),
    ),
  },
  { $id: 'MlTrainRequest', additionalProperties: false },
);
export type MlTrainRequest = Static<typeof MlTrainRequestSchema>;
export type MlTrainSource = Static<typeof MlTrainSourceSchema>;

export const MlPredictRequestSchema = Type.Object(
  {
    model_name: ModelName,
    version: Type.Optional(Type.Integer({ minimum: 1, maximum: 0xffffffff, description: 'Model version; default the latest' })),
    features: Type.Optional(FeatureRows('Rows of feature values in the model\'s feature_keys order')),
    rows: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Number()), { minItems: 1, maxItems: 10_000, description: 'Rows as objects keyed by feature name' })),
  },
  { $id: 'MlPredictRequest', additionalProperties: false, description: 'Give exactly one of features or rows' },
);
export type MlPredictRequest = Static<typeof MlPredictRequestSchema>;

export const MlClusterRequestSchema = Type.Object(
  {
    features: FeatureRows('Rows to cluster (used as given: standardize first if units differ)'),
    n_clusters: Type.Integer({ minimum: 1, maximum: 1000 }),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffffffff })),
  },
  { $id: 'MlClusterRequest', additionalProperties: false },
);
export type MlClusterRequest = Static<typeof MlClusterRequestSchema>;

export const MlAnomaliesRequestSchema = Type.Object(
  {
    features: FeatureRows('Rows to score'),
    contamination: Type.Number({ exclusiveMinimum: 0, maximum: 0.5, description: 'Share of rows labelled -1 (anomalies)' }),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffffffff })),
  },
  { $id: 'MlAnomaliesRequest', additionalProperties: false },
);
export type MlAnomaliesRequest = Static<typeof MlAnomaliesRequestSchema>;

/** A training command on `pipeline.ml.commands`, keyed by model name (one model's jobs run in order). */
export interface MlJobCommand {
  job_id: string;
  request: MlTrainRequest;
  /** ISO-8601. */
  submitted_at: string;
}

export const ML_JOB_STATES = ['queued', 'running', 'succeeded', 'failed'] as const;
export type MlJobState = (typeof ML_JOB_STATES)[number];

/** Job status on the compacted `pipeline.ml.jobs`, keyed by job_id; also the body of GET /pipeline/ml/jobs/{job_id}. */
export const MlJobStatusSchema = Type.Object(
  {
    job_id: Type.String(),
    status: Type.Union(ML_JOB_STATES.map((s) => Type.Literal(s))),
    progress: Type.Number({ minimum: 0, maximum: 1, description: 'Fraction done: reading data is the first 30 %, training the rest' }),
    phase: Type.Optional(Type.Union([Type.Literal('reading'), Type.Literal('training'), Type.Literal('publishing')])),
    model_name: Type.String(),
    model_type: Type.String(),
    model_version: Type.Optional(Type.Integer()),
    metrics: Type.Optional(Type.Record(Type.String(), Type.Number())),
    rows: Type.Optional(Type.Integer({ description: 'Training rows read' })),
    error: Type.Optional(Type.String({ description: 'Why the job failed; names the field when the input was bad' })),
    submitted_at: Type.String({ format: 'date-time' }),
    started_at: Type.Optional(Type.String({ format: 'date-time' })),
    finished_at: Type.Optional(Type.String({ format: 'date-time' })),
    duration_seconds: Type.Optional(Type.Number()),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'MlJobStatus' },
);
export type MlJobStatus = Static<typeof MlJobStatusSchema>;

const checkTrain = compileValidator(MlTrainRequestSchema);

/**
 * Validates a `POST /pipeline/ml/train` body; throws ContractError naming the field, e.g.
 * `model_type must be one of random_forest, linear_regression, kmeans, isolation_forest, got "svm"`
 * or `give either data or source, not both`.
 */
export function parseTrainRequest(body: unknown): MlTrainRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ContractError('body must be a JSON object', '');
  const b = body as Record<string, unknown>;
  if (b['model_type'] !== undefined && !(ML_MODEL_TYPES as readonly unknown[]).includes(b['model_type'])) {
    throw new ContractError(`model_type must be one of ${ML_MODEL_TYPES.join(', ')}, got ${JSON.stringify(b['model_type'])}`, 'model_type');
  }
  const src = b['source'] as Record<string, unknown> | undefined;
  if (src && typeof src === 'object' && src['topic'] !== undefined && !isEventTopic(src['topic'])) {
    throw new ContractError(`source.topic must be one of ${EVENT_TOPICS.join(', ')}, got ${JSON.stringify(src['topic'])}`, 'source.topic');
  }
  if (!checkTrain.Check(body)) throw describeFirstError(checkTrain, body);
  const req = body as MlTrainRequest;
  if (req.data !== undefined && req.source !== undefined) throw new ContractError('give either data or source, not both', 'data');
  if (req.data === undefined && req.source === undefined) throw new ContractError('data (inline rows) or source (an event topic) is required', 'data');
  if ((req.model_type === 'random_forest' || req.model_type === 'linear_regression') && req.target_key === undefined) {
    throw new ContractError(`target_key is required for ${req.model_type}`, 'target_key');
  }
  return req;
}

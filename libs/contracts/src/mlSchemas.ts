import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { TypeCheck } from '@sinclair/typebox/compiler';
import { ContractError } from './errors';
import { parseDateTime } from './parseDateTime';
import { EventTime } from './schemas';
import { SkippedRecordsSchema } from './skippedRecords';
import { EVENT_TOPICS, isEventTopic } from './topics';
import { describeFirstError } from './describeFirstError';
import { describeNonNumeric, readNumericCell } from './numericField';
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
/** Rows of numbers, as the report's `X`: at most 10,000 rows of at most 1,000 finite numbers. */
const FeatureRows = (description: string) =>
  Type.Array(Type.Array(Type.Number(), { minItems: 1, maxItems: 1000 }), { minItems: 1, maxItems: 10_000, description });

/**
 * Limits of a training request (issue 21). Each is in the published schema and named in the error
 * that enforces it: `params.nEstimators must be at most 1000, got 1000000000`.
 */
export const ML_TRAIN_LIMITS = {
  /** Trees of a random forest or an isolation forest. */
  maxTrees: 1_000,
  /** Depth of a random-forest tree. */
  maxDepth: 32,
  /** k of k-means; also at most the number of training rows. */
  maxClusters: 1_000,
  /** k-means iterations. */
  maxIterations: 10_000,
  /** Rows an isolation-forest tree is grown on; also min samples per leaf/split. */
  maxSamples: 1_000_000,
  /** Share of rows held out for the metrics. */
  maxTestFraction: 0.9,
  /** Anomaly share of an isolation forest, in (0, maxContamination]. */
  maxContamination: 0.5,
  /** Inline rows (`data`). */
  maxDataRows: 100_000,
  /** Fields of `source.filter`. */
  maxFilterFields: 32,
} as const;

const TrainTime = EventTime('RFC 3339 date-time with a zone, or epoch milliseconds');

export const MlTrainSourceSchema = Type.Object(
  {
    topic: Type.Union(
      EVENT_TOPICS.map((t) => Type.Literal(t)),
      { description: 'Event topic to read training rows from' },
    ),
    from: Type.Optional(TrainTime),
    to: Type.Optional(TrainTime),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'At most this many rows (first in partition/offset order); default 1,000,000' })),
    filter: Type.Optional(
      Type.Record(Type.String({ minLength: 1, maxLength: 256 }), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), {
        minProperties: 1,
        maxProperties: ML_TRAIN_LIMITS.maxFilterFields,
        description:
          'Only events whose row has each of these fields equal to the given value are used, e.g. {"reading":"temperature","device_id":"d1"} or {"metric_name":"latency_ms"}; ' +
          'row fields as above (payload fields, dotted for nested ones, over the envelope\'s id, type, source, key)',
      }),
    ),
  },
  {
    $id: 'MlTrainSource',
    additionalProperties: false,
    description:
      'Events whose record time is in [from, to): `to` defaults to the job start, `from` to 24 h before `to`, and from must be before to. Each event becomes one row: its payload fields (nested objects flattened to dotted keys, e.g. "properties.cpu") over its top-level fields. ' +
      'Events that do not match `filter` are left out; records that are not JSON objects, or whose feature or target field is not a finite number, are skipped and counted in the job\'s `skipped`.',
  },
);

const ModelType = <T extends MlModelType>(t: T) => Type.Literal(t, { description: 'Algorithm' });
const Seed = Type.Integer({ minimum: 0, maximum: 0xffffffff, description: 'Random seed; default 0' });
const TestFraction = (byDefault: number) =>
  Type.Number({ minimum: 0, maximum: ML_TRAIN_LIMITS.maxTestFraction, description: `Share of rows held out for the metrics; default ${byDefault}` });
const Scale = (byDefault: boolean) => Type.Boolean({ description: `Standardize features before training; default ${byDefault}` });
const Trees = Type.Integer({ minimum: 1, maximum: ML_TRAIN_LIMITS.maxTrees, description: 'Trees; default 100' });

/** Hyper-parameters per model type (camelCase as in the ML lib); unknown keys are refused. */
export const ML_PARAMS_SCHEMAS = {
  random_forest: Type.Object(
    {
      seed: Type.Optional(Seed),
      testFraction: Type.Optional(TestFraction(0.2)),
      scale: Type.Optional(Scale(false)),
      nEstimators: Type.Optional(Trees),
      maxDepth: Type.Optional(Type.Integer({ minimum: 1, maximum: ML_TRAIN_LIMITS.maxDepth, description: 'Tree depth; default 10' })),
      minSamplesLeaf: Type.Optional(Type.Integer({ minimum: 1, maximum: ML_TRAIN_LIMITS.maxSamples, description: 'Least rows in a leaf; default 1' })),
      minSamplesSplit: Type.Optional(Type.Integer({ minimum: 2, maximum: ML_TRAIN_LIMITS.maxSamples, description: 'Least rows to split a node; default 2' })),
      maxFeatures: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'Share of features tried per split; default 1' })),
      bootstrap: Type.Optional(Type.Boolean({ description: 'Sample rows with replacement per tree; default true' })),
      maxBins: Type.Optional(Type.Integer({ minimum: 2, maximum: 256, description: 'Histogram bins per feature; default 256' })),
    },
    { additionalProperties: false },
  ),
  linear_regression: Type.Object({ seed: Type.Optional(Seed), testFraction: Type.Optional(TestFraction(0.2)), scale: Type.Optional(Scale(true)) }, { additionalProperties: false }),
  kmeans: Type.Object(
    {
      nClusters: Type.Integer({ minimum: 1, maximum: ML_TRAIN_LIMITS.maxClusters, description: `Clusters (k), required; at most ${ML_TRAIN_LIMITS.maxClusters} and at most the training rows` }),
      seed: Type.Optional(Seed),
      testFraction: Type.Optional(TestFraction(0)),
      scale: Type.Optional(Scale(true)),
      maxIter: Type.Optional(Type.Integer({ minimum: 1, maximum: ML_TRAIN_LIMITS.maxIterations, description: 'Iterations; default 300' })),
      tol: Type.Optional(Type.Number({ minimum: 0, description: 'Convergence tolerance; default 1e-4' })),
    },
    { additionalProperties: false },
  ),
  isolation_forest: Type.Object(
    {
      seed: Type.Optional(Seed),
      testFraction: Type.Optional(TestFraction(0)),
      scale: Type.Optional(Scale(false)),
      nEstimators: Type.Optional(Trees),
      maxSamples: Type.Optional(Type.Integer({ minimum: 2, maximum: ML_TRAIN_LIMITS.maxSamples, description: 'Rows per tree; default 256' })),
      contamination: Type.Optional(
        Type.Number({ exclusiveMinimum: 0, maximum: ML_TRAIN_LIMITS.maxContamination, description: 'Share of training rows expected to be anomalies; default 0.1' }),
      ),
    },
    { additionalProperties: false },
  ),
} as const;

const FeatureKeys = Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { minItems: 1, maxItems: 1000, uniqueItems: true, description: 'Row fields used as features, in model column order; each at most once' });
const TargetKey = (required: boolean) =>
  Type.String({ minLength: 1, maxLength: 256, description: required ? 'Row field to predict; not one of feature_keys' : 'Not used by this model type' });
const Data = Type.Array(Type.Record(Type.String(), Type.Unknown()), {
  minItems: 1,
  maxItems: ML_TRAIN_LIMITS.maxDataRows,
  description: 'Inline training rows (objects keyed by field name); give either data or source',
});

function trainVariant<T extends MlModelType>(type: T, targetRequired: boolean) {
  const common = {
    model_name: ModelName,
    model_type: ModelType(type),
    feature_keys: FeatureKeys,
    data: Type.Optional(Data),
    source: Type.Optional(MlTrainSourceSchema),
  };
  const params = ML_PARAMS_SCHEMAS[type];
  return Type.Object(
    {
      ...common,
      target_key: targetRequired ? TargetKey(true) : Type.Optional(TargetKey(false)),
      params: type === 'kmeans' ? params : Type.Optional(params),
    },
    { additionalProperties: false, oneOf: [{ required: ['data'] }, { required: ['source'] }], description: `Train a ${type} model` },
  );
}

const TRAIN_VARIANTS = {
  random_forest: trainVariant('random_forest', true),
  linear_regression: trainVariant('linear_regression', true),
  kmeans: trainVariant('kmeans', false),
  isolation_forest: trainVariant('isolation_forest', false),
};

export const MlTrainRequestSchema = Type.Union([TRAIN_VARIANTS.random_forest, TRAIN_VARIANTS.linear_regression, TRAIN_VARIANTS.kmeans, TRAIN_VARIANTS.isolation_forest], {
  $id: 'MlTrainRequest',
  discriminator: { propertyName: 'model_type' },
  description: 'A training job, one shape per model_type (unknown fields and parameters are refused). Give either `data` or `source`.',
});
export type MlTrainSource = Static<typeof MlTrainSourceSchema>;
/** A validated training request (`parseTrainRequest`). */
export interface MlTrainRequest {
  model_name: string;
  model_type: MlModelType;
  feature_keys: string[];
  target_key?: string;
  data?: Record<string, unknown>[];
  source?: MlTrainSource;
  params?: Record<string, unknown>;
}

export const MlPredictRequestSchema = Type.Object(
  {
    model_name: ModelName,
    version: Type.Optional(Type.Integer({ minimum: 1, maximum: 0xffffffff, description: 'Model version; default the latest' })),
    features: Type.Optional(FeatureRows('Rows of feature values in the model\'s feature_keys order')),
    rows: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Number()), { minItems: 1, maxItems: 10_000, description: 'Rows as objects keyed by feature name' })),
  },
  // oneOf states the rule for the document; the handler checks it with its own message (as the train variants do for data/source).
  { $id: 'MlPredictRequest', additionalProperties: false, oneOf: [{ required: ['features'] }, { required: ['rows'] }], description: 'Give exactly one of features or rows' },
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
  /** The submitting API key's principal (see MlJobStatus.owner); copied to every status record. */
  owner?: string;
}

export const ML_JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type MlJobState = (typeof ML_JOB_STATES)[number];
const ML_TERMINAL: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled']);
/** Whether a job in `state` has ended (succeeded, failed, cancelled): its command is not run again. */
export const isTerminalMlJobState = (state: string): boolean => ML_TERMINAL.has(state);

/**
 * Keys of the compacted `pipeline.ml.jobs`, as on pipeline.batch.jobs the cancel marker's key is
 * the status key + `/cancel` (job ids are UUIDs, without "/"):
 *   <id>          MlJobStatus       queued → running → succeeded | failed | cancelled
 *   <id>/cancel   JobCancelRecord   cancel marker, written by DELETE /pipeline/ml/jobs/{id}
 */
export const mlJobKeys = {
  status: (jobId: string) => jobId,
  cancel: (jobId: string) => `${jobId}/cancel`,
};

export type MlJobKey = { kind: 'status' | 'cancel'; jobId: string };

/** Parses a key of pipeline.ml.jobs; undefined for anything else (an empty key, or more "/" parts). */
export function parseMlJobKey(key: string): MlJobKey | undefined {
  const parts = key.split('/');
  if (parts[0] === '') return undefined;
  if (parts.length === 1) return { kind: 'status', jobId: key };
  if (parts.length === 2 && parts[1] === 'cancel') return { kind: 'cancel', jobId: parts[0]! };
  return undefined;
}

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
    filtered_out: Type.Optional(Type.Integer({ description: 'Source jobs with a filter: events of the range that did not match it' })),
    skipped: Type.Optional(SkippedRecordsSchema),
    error: Type.Optional(Type.String({ description: 'Why the job failed or was cancelled; names the field when the input was bad' })),
    error_code: Type.Optional(
      Type.String({
        description:
          'The kind of `error`: `job_timeout` (ran longer than the trainer\'s ML_JOB_TIMEOUT_MS), `job_cancelled` (DELETE /pipeline/ml/jobs/{job_id}), `invalid_argument` (bad input), `training_worker_failed`, …',
      }),
    ),
    cancel_requested: Type.Optional(Type.Boolean({ description: 'A cancel was asked for and the job has not ended yet' })),
    submitted_at: Type.String({ format: 'date-time' }),
    started_at: Type.Optional(Type.String({ format: 'date-time' })),
    finished_at: Type.Optional(Type.String({ format: 'date-time' })),
    duration_seconds: Type.Optional(Type.Number()),
    updated_at: Type.String({ format: 'date-time' }),
    owner: Type.Optional(Type.String({ description: 'The API key that submitted the job (and only that key may train its model_name again) (`key:` + the first 12 hex digits of its SHA-256); absent when auth is off. Only that key and admin keys see the job (and only that key may train its model_name again)' })),
  },
  { $id: 'MlJobStatus' },
);
export type MlJobStatus = Static<typeof MlJobStatusSchema>;

const trainChecks = Object.fromEntries(Object.entries(TRAIN_VARIANTS).map(([t, schema]) => [t, compileValidator(schema as TSchema)])) as Record<MlModelType, TypeCheck<TSchema>>;

const timeOf = (v: string | number): number => (typeof v === 'number' ? v : parseDateTime(v)!);

/**
 * Validates a `POST /pipeline/ml/train` body against the published schema of its model_type, plus the
 * rules a schema cannot state; the gateway (400 before a job exists) and ml-trainer (for the command
 * it reads) both call it. Throws ContractError naming the field and the limit:
 *   model_type must be one of random_forest, linear_regression, kmeans, isolation_forest, got "svm"
 *   params.nEstimators must be at most 1000, got 1000000000
 *   feature_keys[2] repeats "cpu": items must be unique
 *   target_key "y" must not also be one of feature_keys
 *   source.from must be before source.to, got 2026-11-28T00:00:00.000Z ≥ 2026-11-27T00:00:00.000Z
 * `nowMs`, when given, is the time `source.to` defaults to (the job start), so a `source.from` in the future is refused too.
 */
export function parseTrainRequest(body: unknown, opts: { nowMs?: number } = {}): MlTrainRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ContractError('body must be a JSON object', '');
  const b = body as Record<string, unknown>;
  const type = b['model_type'];
  if (!(ML_MODEL_TYPES as readonly unknown[]).includes(type)) {
    throw new ContractError(`model_type must be one of ${ML_MODEL_TYPES.join(', ')}, got ${type === undefined ? 'nothing' : JSON.stringify(type)}`, 'model_type');
  }
  const src = b['source'] as Record<string, unknown> | undefined;
  if (src && typeof src === 'object' && src['topic'] !== undefined && !isEventTopic(src['topic'])) {
    throw new ContractError(`source.topic must be one of ${EVENT_TOPICS.join(', ')}, got ${JSON.stringify(src['topic'])}`, 'source.topic');
  }
  if (type === 'kmeans') {
    const p = b['params'];
    if (p === undefined || (p !== null && typeof p === 'object' && !Array.isArray(p) && (p as Record<string, unknown>)['nClusters'] === undefined)) {
      throw new ContractError('params.nClusters is required for kmeans', 'params.nClusters');
    }
  }
  if ((type === 'random_forest' || type === 'linear_regression') && b['target_key'] === undefined) throw new ContractError(`target_key is required for ${type}`, 'target_key');
  const check = trainChecks[type as MlModelType];
  if (!check.Check(body)) throw describeFirstError(check, body);
  const req = body as MlTrainRequest;
  if (req.data !== undefined && req.source !== undefined) throw new ContractError('give either data or source, not both', 'data');
  if (req.data === undefined && req.source === undefined) throw new ContractError('data (inline rows) or source (an event topic) is required', 'data');
  const regressor = req.model_type === 'random_forest' || req.model_type === 'linear_regression';
  if (regressor && req.feature_keys.includes(req.target_key!)) {
    throw new ContractError(`target_key ${JSON.stringify(req.target_key)} must not also be one of feature_keys`, 'target_key');
  }
  if (req.data !== undefined) checkInlineRows(req.data, regressor ? [...req.feature_keys, req.target_key!] : req.feature_keys);
  const k = req.params?.['nClusters'];
  if (req.model_type === 'kmeans' && req.data !== undefined && typeof k === 'number' && k > req.data.length) {
    throw new ContractError(`params.nClusters must be at most the ${req.data.length} rows of data, got ${k}`, 'params.nClusters');
  }
  if (req.source) {
    const to = req.source.to === undefined ? opts.nowMs : timeOf(req.source.to);
    if (req.source.from !== undefined && to !== undefined) {
      const from = timeOf(req.source.from);
      if (!(from < to)) {
        const before = req.source.to === undefined ? 'now (source.to defaults to the job start)' : 'source.to';
        throw new ContractError(`source.from must be before ${before}, got ${new Date(from).toISOString()} ≥ ${new Date(to).toISOString()}`, 'source.from');
      }
    }
  }
  return req;
}

/**
 * Inline rows are checked at the door with the rule training applies (`readNumericCell`), so a bad
 * cell is a 400 naming it (`data[3].cpu must be a finite number …, got "abc"`) rather than a 202 and
 * then a failed job. (Rows read from a topic are skipped and counted instead; see the trainer.)
 */
function checkInlineRows(rows: readonly Record<string, unknown>[], fields: readonly string[]): void {
  for (let i = 0; i < rows.length; i++) {
    for (const key of fields) {
      if (readNumericCell(rows[i], key) !== undefined) continue;
      const value = Object.hasOwn(rows[i]!, key) ? rows[i]![key] : undefined;
      throw new ContractError(`data[${i}].${key} must be a finite number or a decimal string, got ${describeNonNumeric(value)}`, `data[${i}].${key}`);
    }
  }
}

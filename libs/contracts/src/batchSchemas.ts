import { Type, type Static, type TProperties, type TSchema } from '@sinclair/typebox';
import type { TypeCheck } from '@sinclair/typebox/compiler';
import { describeFirstError } from './describeFirstError';
import { ContractError } from './errors';
import { MAX_EPOCH_MS, parseDateTime } from './parseDateTime';
import { EVENT_TIME_ERROR, EventTime } from './schemas';
import { SkippedRecordsSchema, type SkippedRecords } from './skippedRecords';
import { EVENT_TOPICS, isEventTopic } from './topics';
import { compileValidator } from './validateEvent';

/**
 * The batch-job contract shared by the gateway (REST) and the batch-processor service (Kafka):
 * the REST body, the public job view, and the records on the batch topics.
 *
 * Topics and keys
 *   pipeline.batch.commands   key <job_id>             BatchCommand  {job_id, request, submitted_at}
 *   pipeline.batch.tasks      key <job_id>/<task>#<n>  BatchTask     one per (side, source partition); the
 *                                                                    `#<n>` salt makes task i land on tasks
 *                                                                    partition i mod P, so replicas split them
 *   pipeline.batch.jobs (compacted):
 *     job/<id>                    BatchJobRecord      queued → running → succeeded | failed | cancelled
 *     job/<id>/progress/<task>    BatchProgressRecord progress 0..1 and events read of one task
 *     job/<id>/partial/<task>     BatchPartialRecord  the task's serialized partial (large; ≤ 16 MiB)
 *     job/<id>/cancel             JobCancelRecord     cancel marker, written by DELETE
 * Progress and partial keys get empty values (deleted in views) once the job has finished.
 */
export const BATCH_TASKS_TOPIC = 'pipeline.batch.tasks';

export const BATCH_JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type BatchJobStatus = (typeof BATCH_JOB_STATUSES)[number];
const TERMINAL: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled']);
export const isTerminalBatchStatus = (s: BatchJobStatus): boolean => TERMINAL.has(s);

/** Limits of a batch request (issue 21): each is in the schema and named in the error that enforces it. */
export const BATCH_LIMITS = {
  /** window_minutes and slide_minutes: at most 366 days. */
  maxWindowMinutes: 527_040,
  /** A sliding window's slide must be at least window_minutes / this: each event falls in at most this many windows. */
  maxWindowsPerEvent: 1_000,
  /** within_seconds: at most 366 days. */
  maxWithinSeconds: 31_622_400,
  /** threshold_std: at most this many standard deviations. */
  maxThresholdStd: 1_000,
} as const;

/** time_window_metrics without window_minutes: one-hour windows, as the report's processor defaults. */
export const DEFAULT_WINDOW_MINUTES = 60;

const Time = EventTime('RFC 3339 date-time with a zone ("2024-05-01T12:00:00Z", "2024-05-01T14:00:00.5+02:00") or epoch milliseconds');
const FieldName = (description: string) => Type.String({ minLength: 1, maxLength: 256, description });

export const BatchSourceSchema = Type.Object(
  {
    topic: Type.Union(
      EVENT_TOPICS.map((t) => Type.Literal(t)),
      { description: 'Event topic to read (one of the six event topics, as for training), e.g. "events.metrics"; it must exist' },
    ),
    from: Time,
    to: Time,
  },
  { $id: 'BatchSource', additionalProperties: false, description: 'Records with from ≤ record time < to; from must not be after to' },
);

/** An inline event of an operation that reads event time: `timestamp` at the top level or in `payload` (the field lookup rule). */
const TimedEvent = Type.Union([Type.Object({ timestamp: Time }), Type.Object({ payload: Type.Object({ timestamp: Time }) })], {
  description:
    'An event object with its event time in `timestamp` (top level, or in `payload`). Fields are looked up at the top level, then in `payload`, then as a dotted path; ' +
    'the value_key field must be a finite number when present (absent or null = no value), the group_key field a string, finite number or boolean.',
});
const AnyEvent = Type.Object({}, { description: 'An event object (fields looked up at the top level, then in `payload`, then as a dotted path)' });
const Events = (item: TSchema) => Type.Array(item, { minItems: 1, description: 'Inline events (small jobs)' });
const ValueKey = FieldName('Field holding the value; default "value". Its value must be a finite number when present (absent or null = no value)');
const GroupKey = FieldName('Field to group by; its value must be a string, a finite number or a boolean');
/** Exactly one input: inline `events` or a `source` range (checked by the validator; stated here for the document). */
const ONE_INPUT = { oneOf: [{ required: ['events'] }, { required: ['source'] }] };

const Operation = <T extends string, P extends TProperties>(operation: T, properties: P, extra: object = {}) =>
  Type.Object({ operation: Type.Literal(operation), ...properties }, { additionalProperties: false, ...extra });

export const BatchProcessBatchSchema = Operation(
  'process_batch',
  { events: Type.Optional(Events(TimedEvent)), source: Type.Optional(BatchSourceSchema), value_key: Type.Optional(ValueKey) },
  { ...ONE_INPUT, description: 'count, value sum/mean/min/max/stddev, events per type and the event-time span' },
);
export const BatchTimeWindowSchema = Operation(
  'time_window_metrics',
  {
    events: Type.Optional(Events(TimedEvent)),
    source: Type.Optional(BatchSourceSchema),
    value_key: Type.Optional(ValueKey),
    group_key: Type.Optional(GroupKey),
    window_minutes: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, maximum: BATCH_LIMITS.maxWindowMinutes, default: DEFAULT_WINDOW_MINUTES, description: `Window length in minutes (a whole number of ms); default ${DEFAULT_WINDOW_MINUTES}` }),
    ),
    slide_minutes: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: BATCH_LIMITS.maxWindowMinutes,
        description: `Hop between window starts in minutes: ≤ window_minutes and ≥ window_minutes / ${BATCH_LIMITS.maxWindowsPerEvent} (each event falls in at most ${BATCH_LIMITS.maxWindowsPerEvent} windows); tumbling when absent`,
      }),
    ),
  },
  { ...ONE_INPUT, description: 'count, sum, mean, min, max and stddev per (window, group)' },
);
export const BatchJoinSchema = Operation(
  'join',
  {
    left: Type.Optional(Type.Array(AnyEvent, { description: 'Inline left events' })),
    right: Type.Optional(Type.Array(AnyEvent, { description: 'Inline right events' })),
    source: Type.Optional(BatchSourceSchema),
    right_source: Type.Optional(BatchSourceSchema),
    join_key: FieldName('Key field on both sides; its values must be strings, finite numbers or booleans (absent or null never match)'),
    join_type: Type.Optional(Type.Union([Type.Literal('inner'), Type.Literal('left')], { description: 'default "inner"' })),
    within_seconds: Type.Optional(
      Type.Number({ minimum: 0, maximum: BATCH_LIMITS.maxWithinSeconds, description: '|left time − right time| ≤ within_seconds; every event then needs a `timestamp`' }),
    ),
  },
  {
    oneOf: [
      { required: ['left', 'right'], not: { anyOf: [{ required: ['source'] }, { required: ['right_source'] }] } },
      { required: ['source', 'right_source'], not: { anyOf: [{ required: ['left'] }, { required: ['right'] }] } },
    ],
    description: 'Key join of two streams: `left` + `right` inline, or `source` (left) + `right_source`',
  },
);
export const BatchDetectAnomaliesSchema = Operation(
  'detect_anomalies',
  {
    events: Type.Optional(Events(AnyEvent)),
    source: Type.Optional(BatchSourceSchema),
    value_key: Type.Optional(ValueKey),
    group_key: Type.Optional(GroupKey),
    threshold_std: Type.Number({ exclusiveMinimum: 0, maximum: BATCH_LIMITS.maxThresholdStd, description: '|z| above this many standard deviations is an anomaly' }),
  },
  { ...ONE_INPUT, description: 'z-score anomalies; result {anomalies, stats: [{group, mean, stddev, count}]} (group null when ungrouped)' },
);

const OPERATION_SCHEMAS = {
  process_batch: BatchProcessBatchSchema,
  time_window_metrics: BatchTimeWindowSchema,
  join: BatchJoinSchema,
  detect_anomalies: BatchDetectAnomaliesSchema,
} as const;
export type BatchOperationName = keyof typeof OPERATION_SCHEMAS;
export const BATCH_OPERATION_NAMES = Object.keys(OPERATION_SCHEMAS) as BatchOperationName[];

export const BatchProcessRequestSchema = Type.Union([BatchProcessBatchSchema, BatchTimeWindowSchema, BatchJoinSchema, BatchDetectAnomaliesSchema], {
  $id: 'BatchProcessRequest',
  discriminator: { propertyName: 'operation' },
  description:
    'A batch job, one shape per operation (unknown fields are refused). Input: `events` (or `left`+`right` for join) inline, or `source` (and `right_source` for join) to read a time range of a topic. ' +
    'Inline jobs are answered 200 with the result when they finish within the gateway wait, otherwise 202 with the job id. Records of a source range that an operation cannot read are skipped and counted in the job\'s `skipped`.',
});
export type BatchProcessRequest = Static<typeof BatchProcessRequestSchema>;

const operationChecks = Object.fromEntries(Object.entries(OPERATION_SCHEMAS).map(([op, schema]) => [op, compileValidator(schema as TSchema)])) as Record<BatchOperationName, TypeCheck<TSchema>>;

/**
 * Validates a `POST /pipeline/spark/process` body against the published schema of its operation and
 * reads its input; the gateway and the batch-processor both call it. The rules the schema cannot
 * express are checked here too: exactly one input (see `readBatchInput`), `from` not after `to`.
 * Throws ContractError naming the field:
 *   operation must be one of process_batch, time_window_metrics, join, detect_anomalies, got "pivot"
 *   slide_minute is not an allowed field
 *   events[3].timestamp is required
 */
export function parseBatchRequest(body: unknown): { request: BatchProcessRequest; input: BatchInput } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ContractError(`body must be a JSON object with "operation" and "events" or "source", got ${quote(body)}`, '');
  const operation = (body as Record<string, unknown>)['operation'];
  if (typeof operation !== 'string' || !Object.hasOwn(OPERATION_SCHEMAS, operation)) {
    throw new ContractError(`operation must be one of ${BATCH_OPERATION_NAMES.join(', ')}, got ${quote(operation)}`, 'operation');
  }
  const check = operationChecks[operation as BatchOperationName];
  if (operation === 'process_batch' || operation === 'time_window_metrics') requireEventTimes((body as Record<string, unknown>)['events']);
  if (!check.Check(body)) throw describeFirstError(check, body);
  const input = readBatchInput(body as Record<string, unknown>, operation === 'join');
  return { request: body as BatchProcessRequest, input };
}

/** The public view of a job (GET /pipeline/spark/jobs/{id}). */
export const BatchJobSchema = Type.Object(
  {
    job_id: Type.String(),
    operation: Type.String(),
    status: Type.Union(BATCH_JOB_STATUSES.map((s) => Type.Literal(s))),
    progress: Type.Number({ minimum: 0, maximum: 1, description: 'Fraction of the input read (offset range per partition, averaged over tasks)' }),
    events_read: Type.Integer(),
    submitted_at: Type.String({ format: 'date-time' }),
    started_at: Type.Optional(Type.String({ format: 'date-time' })),
    finished_at: Type.Optional(Type.String({ format: 'date-time' })),
    tasks: Type.Optional(Type.Integer({ description: 'Source jobs: one task per (side, partition)' })),
    cancel_requested: Type.Optional(Type.Boolean()),
    result: Type.Optional(Type.Unknown({ description: 'succeeded: the operation result' })),
    reason: Type.Optional(Type.String({ description: 'failed/cancelled: why' })),
    skipped: Type.Optional(SkippedRecordsSchema),
    owner: Type.Optional(Type.String({ description: 'The API key that submitted the job (`key:` + the first 12 hex digits of its SHA-256); absent when auth is off. Only that key and admin keys see the job' })),
  },
  { $id: 'BatchJob' },
);
export type BatchJob = Static<typeof BatchJobSchema>;

/** One source read by a job: the epoch-ms range [fromMs, toMs) of a topic, and the join side it feeds. */
export interface BatchSourceRange {
  side?: 'left' | 'right';
  topic: string;
  fromMs: number;
  toMs: number;
}

export type BatchInput =
  | { kind: 'events'; events: unknown[] }
  | { kind: 'join_events'; left: unknown[]; right: unknown[] }
  | { kind: 'source'; sources: BatchSourceRange[] };

/** Kafka message on pipeline.batch.commands. */
export interface BatchCommand {
  job_id: string;
  /** The REST body as received. */
  request: Record<string, unknown>;
  submitted_at: string;
  /** The submitting API key's principal (see BatchJob.owner); copied to every status record. */
  owner?: string;
}

/** Kafka message on pipeline.batch.tasks: read one partition of one source and publish the partial. */
export interface BatchTask {
  job_id: string;
  /** Index of this task; partials are merged in task order, so every replica count gives the same answer. */
  task: number;
  tasks: number;
  side?: 'left' | 'right';
  topic: string;
  partition: number;
  from_ms: number;
  to_ms: number;
  request: Record<string, unknown>;
  started_at: string;
  /** Epoch ms after which the job is failed. */
  deadline_ms: number;
}

export interface BatchJobRecord {
  job_id: string;
  operation: string;
  status: BatchJobStatus;
  submitted_at: string;
  started_at?: string;
  finished_at?: string;
  deadline_ms?: number;
  tasks?: number;
  events_read?: number;
  result?: unknown;
  reason?: string;
  /** Terminal records of source jobs: which replica (host/pid) ran each task. */
  workers?: string[];
  /** Terminal records of source jobs: records skipped because the operation could not read them. */
  skipped?: SkippedRecords;
  /** See BatchJob.owner. */
  owner?: string;
}

export interface BatchProgressRecord {
  job_id: string;
  task: number;
  progress: number;
  events_read: number;
  worker: string;
}

export interface BatchPartialRecord {
  job_id: string;
  task: number;
  events_read: number;
  /** Records of this task's range that were skipped (absent when none). */
  skipped?: SkippedRecords;
  worker: string;
  partial: unknown;
}


export const batchJobKeys = {
  status: (jobId: string) => `job/${jobId}`,
  progress: (jobId: string, task: number) => `job/${jobId}/progress/${task}`,
  partial: (jobId: string, task: number) => `job/${jobId}/partial/${task}`,
  cancel: (jobId: string) => `job/${jobId}/cancel`,
};

export type BatchJobKey = { kind: 'status' | 'cancel'; jobId: string } | { kind: 'progress' | 'partial'; jobId: string; task: number };

const KEY = /^job\/([^/]+)(?:\/(cancel)|\/(progress|partial)\/(\d+))?$/;

/** Parses a key of pipeline.batch.jobs; undefined for anything else. */
export function parseBatchJobKey(key: string): BatchJobKey | undefined {
  const m = KEY.exec(key);
  if (!m) return undefined;
  const jobId = m[1]!;
  if (m[2]) return { kind: 'cancel', jobId };
  if (m[3]) return { kind: m[3] as 'progress' | 'partial', jobId, task: Number(m[4]) };
  return { kind: 'status', jobId };
}

/**
 * The public view of a job from its status record and its tasks' progress records: progress is the
 * mean over tasks (a task without a record counts 0), events_read their sum; a finished job has
 * progress 1 (succeeded) and the events_read of its final record.
 */
export function summarizeBatchJob(record: BatchJobRecord, progress: readonly BatchProgressRecord[], cancelRequested = false): BatchJob {
  let p = 0;
  let read = record.events_read ?? 0;
  if (record.status === 'succeeded') p = 1;
  else if (record.status === 'running' || isTerminalBatchStatus(record.status)) {
    const n = record.tasks ?? 0;
    if (n > 0 && progress.length > 0) {
      const live = progress.filter((r) => r.task < n);
      p = live.reduce((a, r) => a + Math.min(1, Math.max(0, r.progress)), 0) / n;
      if (record.events_read === undefined) read = live.reduce((a, r) => a + r.events_read, 0);
    }
  }
  const view: BatchJob = { job_id: record.job_id, operation: record.operation, status: record.status, progress: p, events_read: read, submitted_at: record.submitted_at };
  if (record.started_at !== undefined) view.started_at = record.started_at;
  if (record.finished_at !== undefined) view.finished_at = record.finished_at;
  if (record.tasks !== undefined) view.tasks = record.tasks;
  if (cancelRequested && !isTerminalBatchStatus(record.status)) view.cancel_requested = true;
  if (record.result !== undefined) view.result = record.result;
  if (record.reason !== undefined) view.reason = record.reason;
  if (record.skipped !== undefined) view.skipped = record.skipped;
  if (record.owner !== undefined) view.owner = record.owner;
  return view;
}

const present = (o: unknown, k: string): boolean => o !== null && typeof o === 'object' && Object.hasOwn(o, k) && (o as Record<string, unknown>)[k] !== null && (o as Record<string, unknown>)[k] !== undefined;

/** The schema's TimedEvent rule, with a message that names both places a time may be. */
function requireEventTimes(events: unknown): void {
  if (!Array.isArray(events)) return;
  events.forEach((e, i) => {
    if (e !== null && typeof e === 'object' && !Array.isArray(e) && !present(e, 'timestamp') && !present((e as Record<string, unknown>)['payload'], 'timestamp')) {
      throw new ContractError(`events[${i}].timestamp is required (at the top level or in payload)`, `events[${i}].timestamp`);
    }
  });
}

function readTime(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= MAX_EPOCH_MS) return value;
  const ms = typeof value === 'string' ? parseDateTime(value) : undefined;
  if (ms !== undefined) return ms;
  throw new ContractError(`${field} ${EVENT_TIME_ERROR}, got ${quote(value)}`, field);
}

function quote(value: unknown): string {
  let s: string;
  try {
    s = value === undefined ? 'nothing' : (JSON.stringify(value) ?? String(value));
  } catch {
    s = typeof value;
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function readSource(value: unknown, field: string, side?: 'left' | 'right'): BatchSourceRange {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ContractError(`${field} must be an object {"topic","from","to"}, got ${quote(value)}`, field);
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'topic' && k !== 'from' && k !== 'to') throw new ContractError(`${field}.${k} is not an allowed field`, `${field}.${k}`);
  for (const k of ['topic', 'from', 'to']) if (o[k] === undefined || o[k] === null) throw new ContractError(`${field}.${k} is required`, `${field}.${k}`);
  // An allow-list, as for training: only the event topics, never internal (pipeline.*) or other topics of the cluster.
  if (!isEventTopic(o.topic)) throw new ContractError(`${field}.topic must be one of ${EVENT_TOPICS.join(', ')}, got ${quote(o.topic)}`, `${field}.topic`);
  const fromMs = readTime(o.from, `${field}.from`);
  const toMs = readTime(o.to, `${field}.to`);
  if (fromMs > toMs) throw new ContractError(`${field}.from must not be after ${field}.to, got from ${quote(o.from)} and to ${quote(o.to)}`, `${field}.from`);
  return { ...(side ? { side } : {}), topic: o.topic, fromMs, toMs };
}

function readArray(value: unknown, field: string, nonEmpty: boolean): unknown[] {
  if (!Array.isArray(value)) throw new ContractError(`${field} must be an array of events, got ${quote(value)}`, field);
  if (nonEmpty && value.length === 0) throw new ContractError(`${field} must contain at least one event`, field);
  return value;
}

/**
 * The input part of a batch request (the options are checked by `parseBatchOptions` of @pipeline/batch):
 *   non-join: exactly one of `events` (non-empty array) or `source`;
 *   join:     `left` + `right` arrays, or `source` (left side) + `right_source`.
 * Throws ContractError naming the field, e.g. `source.from must not be after source.to, got from … and to …`.
 */
export function readBatchInput(body: Record<string, unknown>, isJoin: boolean): BatchInput {
  const has = (k: string) => body[k] !== undefined && body[k] !== null;
  if (isJoin) {
    if (has('events')) throw new ContractError('events is not used by join: give left and right, or source and right_source', 'events');
    if (has('source') || has('right_source')) {
      if (has('left') || has('right')) throw new ContractError('left/right and source/right_source are exclusive: give one pair', has('left') ? 'left' : 'right');
      if (!has('source')) throw new ContractError('source is required with right_source (the left side of the join)', 'source');
      if (!has('right_source')) throw new ContractError('right_source is required with source (the right side of the join)', 'right_source');
      return { kind: 'source', sources: [readSource(body.source, 'source', 'left'), readSource(body.right_source, 'right_source', 'right')] };
    }
    if (!has('left')) throw new ContractError('left is required for join (or source and right_source)', 'left');
    if (!has('right')) throw new ContractError('right is required for join (or source and right_source)', 'right');
    return { kind: 'join_events', left: readArray(body.left, 'left', false), right: readArray(body.right, 'right', false) };
  }
  for (const k of ['left', 'right', 'right_source']) if (has(k)) throw new ContractError(`${k} is only used by join`, k);
  if (has('events') && has('source')) throw new ContractError('events and source are exclusive: give inline events or a source range', 'events');
  if (has('source')) return { kind: 'source', sources: [readSource(body.source, 'source')] };
  if (!has('events')) throw new ContractError('events or source is required', 'events');
  return { kind: 'events', events: readArray(body.events, 'events', true) };
}

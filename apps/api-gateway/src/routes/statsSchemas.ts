import { Type, type Static, type TObject, type TProperties, type TSchema } from '@sinclair/typebox';
import { compileValidator, describeFirstError } from '@pipeline/contracts';
import { HttpError } from '@pipeline/service-runtime';

/**
 * The live-stats routes' parameters and answers as TypeBox schemas: the handlers read their path and
 * query with `requestReader` (400 invalid_query / invalid_path_parameter naming the parameter) and
 * the OpenAPI document publishes the same schemas with `openApiParameters`, so the two cannot drift.
 */

/** Metrics per all-stats page unless `limit` says otherwise, and the most it may say. */
export const ALL_STATS_DEFAULT_LIMIT = 1000;
export const ALL_STATS_MAX_LIMIT = 10_000;
/** The most items a top-K answer may ask for, and the default. */
export const TOPK_MAX_K = 1000;
export const TOPK_DEFAULT_K = 10;
export const TOPK_DIMENSIONS = ['error_type', 'error_service', 'error_endpoint', 'action', 'metric_name', 'group_by', 'device_id', 'reality_change'] as const;

export const MetricStatsPathSchema = Type.Object({ metric_name: Type.String({ minLength: 1, description: 'The metric (percent-encoded)', examples: ['latency_ms'] }) });
export const MetricStatsQuerySchema = Type.Object({
  group: Type.Optional(Type.String({ minLength: 1, description: 'Only this group (the events\' group_by); 404 unknown_group if the metric has no such group', examples: ['api'] })),
});
/** all-stats has no path parameters. */
export const AllStatsPathSchema = Type.Object({});
export const AllStatsQuerySchema = Type.Object({
  prefix: Type.Optional(Type.String({ description: 'Only metrics whose name starts with this', examples: ['http_'] })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: ALL_STATS_MAX_LIMIT, default: ALL_STATS_DEFAULT_LIMIT, description: 'Most metrics in the answer' })),
  cursor: Type.Optional(Type.String({ description: 'Start after this metric name: the X-Next-Cursor of the previous page (URL-decoded), or follow its Link rel="next"' })),
});
export const TopKPathSchema = Type.Object({
  dimension: Type.String({ minLength: 1, description: `One of ${TOPK_DIMENSIONS.join(', ')}; a dimension without data is 404 unknown_dimension`, examples: ['error_type'] }),
});
export const TopKQuerySchema = Type.Object({ k: Type.Optional(Type.Integer({ minimum: 1, maximum: TOPK_MAX_K, default: TOPK_DEFAULT_K, description: 'How many items' })) });

const Stat = Type.Union([Type.Number(), Type.Null()]);
/** Statistics of one series over the window; an empty window has count 0, sum 0, rate 0 and null for the rest. */
export const SeriesStatsSchema = Type.Object(
  {
    count: Type.Integer(),
    sum: Type.Number(),
    mean: Stat,
    min: Stat,
    max: Stat,
    variance: Stat,
    stddev: Stat,
    p50: Stat,
    p90: Stat,
    p95: Stat,
    p99: Stat,
    rate_per_sec: Type.Number(),
  },
  { description: 'Window statistics of one series; percentiles within 1 % relative error' },
);

/** The error bound of a stats answer's percentiles. */
export const StatsAccuracySchema = Type.Object(
  {
    percentile_relative_error: Type.Number({
      exclusiveMinimum: 0,
      exclusiveMaximum: 1,
      description: 'The percentile sketch\'s relative accuracy α (the aggregator\'s DDSketch setting, 0.01): each of p50–p99 is within α × |exact value| of the exact lower rank-based quantile of the values in its window. count, sum, mean, min, max, variance and stddev are exact',
      examples: [0.01],
    }),
  },
  { description: 'How far the numbers may be from exact' },
);
/** The over-count bound of a top-K answer. */
export const TopKAccuracySchema = Type.Object(
  {
    max_overcount: Type.Integer({
      minimum: 0,
      description: 'The largest Space-Saving error among all items the window\'s summary monitors (listed or not): every listed count is at most this much above the item\'s true count in the window; 0: every count is exact',
    }),
  },
  { description: 'How far the counts may be from exact' },
);
const completenessProperties = {
  window_start: Type.String({ format: 'date-time', description: 'First instant of the window: events stamped in [window_start, window_end) are in it (whole seconds; window statistics may reach one AGG_COARSE_BUCKET_SECONDS block earlier, percentiles and top-K one tenth of the window earlier)' }),
  window_end: Type.String({ format: 'date-time', description: 'End of the window (exclusive): the second after the request\'s' }),
  watermark: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'The lowest event-time watermark of the input partitions behind the answer (for a metric: those holding its series; for top-K and rates: every partition that has reported): each has folded in every event it received stamped up to it. null while one of them has seen no event in time',
  }),
  snapshot_age_ms: Type.Union([Type.Number({ minimum: 0 }), Type.Null()], {
    description: 'Now minus the production time of the oldest aggregator snapshot behind the answer, ms. A partition writes a snapshot only after receiving events, so an idle partition\'s snapshot ages without being stale; null when no snapshot is behind it',
  }),
  partitions_reported: Type.Integer({ minimum: 0, description: 'Partitions of the answer\'s input topics (events.metrics for a metric; every event topic for top-K and rates) whose aggregator has committed a snapshot; a partition that never received an event has not' }),
  partitions_total: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'Partitions of those topics (read when the gateway starts); null when not known' }),
};
/** What an answer covers and how current it is (top-K, rates). */
export const CompletenessSchema = Type.Object(completenessProperties, { description: 'What the answer covers and how current it is, from the aggregator snapshots behind it' });
/** A metric answer's completeness: also its late and future events. */
export const MetricCompletenessSchema = Type.Object(
  {
    ...completenessProperties,
    late_events: Type.Integer({ minimum: 0, description: 'Events of the metric that arrived a window old, not in the stats: counted since the metric\'s state was created (dropped after twice the longest configured window with no accepted event; late_events_in_window for the window); the same number as the answer\'s late_events' }),
    future_events: Type.Integer({ minimum: 0, description: 'Events of the metric stamped more than AGG_MAX_FUTURE_SKEW_SECONDS ahead of the aggregator\'s clock, not in the stats: counted like late_events' }),
    late_events_in_window: Type.Integer({
      minimum: 0,
      description: 'Of late_events, those that arrived in the answer\'s window — by the aggregator\'s clock when they arrived (their own timestamps are a window old), the window widened at its far end to a whole AGG_COARSE_BUCKET_SECONDS block as the statistics are',
    }),
    future_events_in_window: Type.Integer({ minimum: 0, description: 'Of future_events, those that arrived in the answer\'s window (counted as late_events_in_window)' }),
  },
  { description: 'What the answer covers and how current it is, from the aggregator snapshots behind it' },
);
export const MetricStatsResponseSchema = Type.Object({
  metric_name: Type.String(),
  stats: SeriesStatsSchema,
  groups: Type.Record(Type.String(), SeriesStatsSchema, { description: 'group → stats' }),
  window_seconds: Type.Integer(),
  total_events: Type.Integer({ description: 'Events of the metric since its state was created (ok + late + future)' }),
  late_events: Type.Integer({ description: 'Of those, events older than the window when they arrived (not in the stats)' }),
  future_events: Type.Integer({ description: 'Of those, events stamped more than AGG_MAX_FUTURE_SKEW_SECONDS ahead of the clock (not in the stats)' }),
  timestamp: Type.String({ format: 'date-time' }),
  accuracy: StatsAccuracySchema,
  completeness: MetricCompletenessSchema,
});
/** One metric in an all-stats page: its overall stats with the accuracy and completeness of that answer. */
export const AllStatsEntrySchema = Type.Object(
  { ...SeriesStatsSchema.properties, accuracy: StatsAccuracySchema, completeness: MetricCompletenessSchema },
  { description: 'Window statistics of the metric (overall), with their accuracy and completeness' },
);
export const AllStatsResponseSchema = Type.Record(Type.String(), AllStatsEntrySchema, { description: 'metric name → overall stats, in name order' });
export const TopKResponseSchema = Type.Object({
  dimension: Type.String(),
  items: Type.Array(Type.Object({ item: Type.String(), count: Type.Integer(), error: Type.Integer({ description: 'The true count is within [count - error, count]' }) })),
  window_seconds: Type.Integer(),
  accuracy: TopKAccuracySchema,
  completeness: CompletenessSchema,
});
export const RatesResponseSchema = Type.Object({
  topics: Type.Record(Type.String(), Type.Number(), { description: 'topic → events/s' }),
  metrics: Type.Record(Type.String(), Type.Number(), { description: 'metric → events/s' }),
  window_seconds: Type.Union([Type.Integer(), Type.Null()], { description: 'null before the first snapshot' }),
  completeness: Type.Union([CompletenessSchema, Type.Null()], { description: 'Of the rate window (window_seconds); null before the first snapshot' }),
});

const isIntegerSchema = (s: TSchema | undefined): boolean => s?.['type'] === 'integer';
/** A query integer as the text of one: digits with an optional sign (no `1e3`, `0x10`, blanks or `1.0`). */
const INTEGER_TEXT = /^[+-]?\d{1,16}$/;

/**
 * A reader of a route's path and query parameters: path values as Express decoded them, query
 * values as given, a query integer converted from its decimal text; then checked against the schemas.
 * Unknown query parameters are ignored; a parameter given twice is refused.
 */
export function requestReader<P extends TProperties, Q extends TProperties>(
  path: TObject<P>,
  query: TObject<Q>,
): (req: { params: Record<string, unknown>; query: unknown }) => Static<TObject<P>> & Static<TObject<Q>> {
  const checkPath = compileValidator(path);
  const checkQuery = compileValidator(query);
  return (req) => {
    const params: Record<string, unknown> = {};
    for (const name of Object.keys(path.properties)) if (req.params[name] !== undefined) params[name] = req.params[name];
    if (!checkPath.Check(params)) throw new HttpError(400, 'invalid_path_parameter', `path parameter ${describeFirstError(checkPath, params).message}`);
    const raw = (req.query ?? {}) as Record<string, unknown>;
    const values: Record<string, unknown> = {};
    for (const [name, schema] of Object.entries(query.properties)) {
      const value = Object.hasOwn(raw, name) ? raw[name] : undefined;
      if (value === undefined) continue;
      if (Array.isArray(value)) throw new HttpError(400, 'invalid_query', `${name} must be given once, got it ${value.length} times`);
      values[name] = isIntegerSchema(schema as TSchema) && typeof value === 'string' && INTEGER_TEXT.test(value) ? Number(value) : value;
    }
    if (!checkQuery.Check(values)) throw new HttpError(400, 'invalid_query', describeFirstError(checkQuery, values).message);
    return { ...params, ...values } as Static<TObject<P>> & Static<TObject<Q>>;
  };
}

/** The OpenAPI `parameters` of a route: one per property of its path and query schemas, each with its schema. */
export function openApiParameters(path: TObject, query: TObject): object[] {
  const param = (where: 'path' | 'query', required: string[]) => ([name, schema]: [string, TSchema]) => ({
    name,
    in: where,
    required: where === 'path' || required.includes(name),
    ...(typeof schema['description'] === 'string' && { description: schema['description'] as string }),
    schema: JSON.parse(JSON.stringify(schema)) as object,
  });
  return [
    ...Object.entries(path.properties).map(param('path', path.required ?? [])),
    ...Object.entries(query.properties).map(param('query', query.required ?? [])),
  ];
}

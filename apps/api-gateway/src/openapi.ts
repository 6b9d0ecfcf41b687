import {
  AggregateRequestSchema,
  AggregateMetricSchema,
  ErrorResponseSchema,
  EventInputSchema,
  IngestResponseSchema,
  PAYLOAD_SCHEMAS,
} from '@pipeline/contracts';

/** Extra operations registered by later route modules (stats, ML, batch), merged into the document. */
export type OpenApiPaths = Record<string, Record<string, unknown>>;

/** A contracts TypeBox schema without its `$id`s, to embed inline in the document. */
export const inlineSchema = (schema: object): object => JSON.parse(JSON.stringify(schema, (k, v) => (k === '$id' ? undefined : v))) as object;
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const json = (schema: object) => ({ 'application/json': { schema } });
const errorResponse = (description: string) => ({ description, content: json(ref('ErrorResponse')) });
export const commonErrors = {
  '400': errorResponse('Invalid request; the message names the field and what was expected'),
  '401': errorResponse('Missing or invalid API key (only when API_KEYS is set)'),
  '403': errorResponse('The API key lacks the scope this route needs (read, ingest, predict, train, batch or admin; see API_KEYS)'),
  '413': errorResponse('Body larger than the limit'),
  '415': errorResponse('Unsupported Content-Type'),
  '429': errorResponse('Rate limit exceeded (Retry-After)'),
  '503': errorResponse('A dependency (Kafka, ingest, predictor) is unavailable (Retry-After)'),
};

/**
 * The OpenAPI 3.1 document, generated from the same TypeBox JSON Schemas that validate requests
 * (OpenAPI 3.1 uses JSON Schema 2020-12, so the schemas embed as they are).
 */
/**
 * EventInput as published: one variant per topic, whose payload is that topic's payload schema —
 * the rule ingest applies (the contracts' EventInputSchema checks the envelope only, then the
 * topic's payload schema is applied). Built from the same schemas, so a body valid here is accepted.
 */
function eventInputByTopic(): object {
  const envelope = inlineSchema(EventInputSchema) as { properties: Record<string, object>; [k: string]: unknown };
  const { description: _description, ...rest } = envelope;
  return {
    description: 'An event: its topic, and the payload that topic\'s schema describes; id, type, timestamp, source, key and schema_version may be omitted',
    oneOf: Object.entries(PAYLOAD_SCHEMAS).map(([topic, s]) => ({
      ...rest,
      properties: { ...envelope.properties, topic: { const: topic }, payload: ref(String((s as { $id?: string }).$id)) },
    })),
  };
}

export function buildOpenApi(extraPaths: OpenApiPaths = {}, extraSchemas: Record<string, object> = {}): object {
  const schemas: Record<string, object> = {
    EventInput: eventInputByTopic(),
    AggregateMetric: inlineSchema(AggregateMetricSchema),
    AggregateRequest: inlineSchema(AggregateRequestSchema),
    IngestResponse: inlineSchema(IngestResponseSchema),
    ErrorResponse: inlineSchema(ErrorResponseSchema),
    ...Object.fromEntries(Object.entries(PAYLOAD_SCHEMAS).map(([, s]) => [String((s as { $id?: string }).$id), inlineSchema(s)])),
    ...extraSchemas,
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Event pipeline API',
      version: '1.0.0',
      description: 'The /pipeline REST surface: ingest events, real-time statistics, ML training and prediction, batch jobs.',
    },
    components: {
      schemas,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' } },
    },
    security: [{ bearer: [] }, { apiKey: [] }, {}],
    paths: {
      '/pipeline/events': {
        post: {
          summary: 'Ingest events: one event, a JSON array, or NDJSON (streamed)',
          description: `Each event is validated against its topic's payload schema (${Object.keys(PAYLOAD_SCHEMAS).join(', ')}); id and timestamp are filled in when absent. Valid events are published; invalid ones are reported by index.`,
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { oneOf: [ref('EventInput'), { type: 'array', items: ref('EventInput') }] } },
              'application/x-ndjson': { schema: { type: 'string', description: 'One EventInput JSON object per line' } },
            },
          },
          responses: {
            '202': { description: 'Accepted (some events may be rejected, listed by index)', content: json(ref('IngestResponse')) },
            ...commonErrors,
            '429': errorResponse(
              'rate_limited: rate limit exceeded (Retry-After). series_limit: a metric event would be a new series on an events.metrics partition already at the aggregator\'s series cap (AGG_MAX_SERIES shared by the partitions); `details`: `index` (its place in the request), `metric_name`, `group_by`, `partition`, `cap`, `live_series`. series_quota: it would be a new series past the API key\'s series quota (API_KEY_MAX_SERIES or the key\'s `:series=<n>`: most live series the key created); `details`: `index`, `metric_name`, `group_by`, `principal`, `quota`, `live_series`. A JSON body is judged whole and nothing of a refused request is published; an NDJSON body is judged per chunk of PUBLISH_CHUNK_SIZE events as it streams, and a refusal after the first chunk adds `accepted` and `ids` of the chunks already published. Series already live are always accepted, whoever created them. Judged from the aggregator\'s last snapshot round (its state topic, as the gateway and ingest read it), so it lags by up to a round: a burst of new series can still pass the cap or a quota (the aggregator refuses and counts those past the cap; a quota is not enforced there).',
            ),
          },
        },
      },
      '/pipeline/aggregate': {
        post: {
          summary: 'Record metric values (published to events.metrics)',
          requestBody: { required: true, content: json(ref('AggregateRequest')) },
          responses: {
            '202': {
              description: 'Accepted',
              content: json({ type: 'object', properties: { status: { const: 'accepted' }, accepted: { type: 'integer' }, ids: { type: 'array', items: { type: 'string' } } } }),
            },
            ...commonErrors,
            '429': errorResponse(
              'rate_limited: rate limit exceeded (Retry-After). series_limit: a metric would be a new series on an events.metrics partition already at the aggregator\'s series cap (AGG_MAX_SERIES shared by the partitions); the message and `details` name it (`index`, `metric_name`, `group_by`, `partition`, `cap`, `live_series`) and nothing of the request is published. series_quota: it would be a new series past the API key\'s series quota (API_KEY_MAX_SERIES or the key\'s `:series=<n>`: most live series the key created); `details`: `index`, `metric_name`, `group_by`, `principal`, `quota`, `live_series`, and nothing is published. Series already live are always accepted, whoever created them. Judged from the aggregator\'s last snapshot round (its state topic, as the gateway and ingest read it), so it lags by up to a round: a burst of new series can still pass the cap or a quota (the aggregator refuses and counts those past the cap; a quota is not enforced there).',
            ),
          },
        },
      },
      ...extraPaths,
    },
  };
}

import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { MAX_EPOCH_MS } from './parseDateTime';
import { PRINTABLE_TEXT_ERROR, PRINTABLE_TEXT_PATTERN } from './printableText';

/**
 * Payload schemas, one per event topic, version 1. These JSON Schemas are the single source of
 * truth: the TypeScript types below are derived from them (`Static<>`), the validators are compiled
 * from them once (see validateEvent.ts) and the gateway's OpenAPI document embeds them.
 */
/** A name (metric, group, user, device, …): 1–256 characters, no control characters, well-formed Unicode. */
const Name = (description: string) => Type.String({ minLength: 1, maxLength: 256, pattern: PRINTABLE_TEXT_PATTERN, errorMessage: PRINTABLE_TEXT_ERROR, description });
export const EVENT_TIME_ERROR = 'must be an ISO-8601 date-time with a zone or epoch milliseconds';
/** An event time: RFC 3339 with a zone, or epoch milliseconds within ±8.64e15 (the range of a JavaScript Date). */
export const EventTime = (description: string) =>
  Type.Union([Type.String({ format: 'date-time' }), Type.Number({ minimum: -MAX_EPOCH_MS, maximum: MAX_EPOCH_MS })], {
    description,
    errorMessage: EVENT_TIME_ERROR,
  });
const Tags = Type.Record(Type.String(), Type.String({ maxLength: 1024 }), { description: 'Free-form string labels' });
const Properties = Type.Record(Type.String(), Type.Unknown(), { description: 'Free-form properties (JSON, nesting depth ≤ 32)' });

export const MetricPayloadV1 = Type.Object(
  {
    metric_name: Name('Metric name, e.g. "latency_ms"'),
    value: Type.Number({ description: 'A finite number (NaN and ±Infinity are rejected)' }),
    group_by: Type.Optional(Name('Group (series) within the metric, e.g. a service id')),
    unit: Type.Optional(Type.String({ maxLength: 64 })),
    tags: Type.Optional(Tags),
  },
  { $id: 'MetricPayloadV1', description: 'events.metrics: one numeric observation' },
);

export const AnalyticsPayloadV1 = Type.Object(
  {
    user_id: Name('Acting user'),
    action: Name('What the user did, e.g. "login"'),
    properties: Type.Optional(Properties),
  },
  { $id: 'AnalyticsPayloadV1', description: 'events.analytics: a product analytics event' },
);

export const DevicePayloadV1 = Type.Object(
  {
    device_id: Name('Device id'),
    reading: Name('What was measured, e.g. "temperature"'),
    value: Type.Number({ description: 'A finite number' }),
    unit: Type.Optional(Type.String({ maxLength: 64 })),
    attributes: Type.Optional(Properties),
  },
  { $id: 'DevicePayloadV1', description: 'events.devices: a device/IoT reading' },
);

export const RealityPayloadV1 = Type.Object(
  {
    twin_id: Name('Digital-twin entity id'),
    change: Name('Kind of state change, e.g. "moved"'),
    state: Properties,
    previous_state: Type.Optional(Properties),
  },
  { $id: 'RealityPayloadV1', description: 'events.reality: a reality-twin state change' },
);

export const ErrorPayloadV1 = Type.Object(
  {
    service: Name('Service that failed'),
    error_type: Name('Error class, e.g. "TimeoutError"'),
    message: Type.String({ maxLength: 8192 }),
    severity: Type.Union([Type.Literal('debug'), Type.Literal('info'), Type.Literal('warning'), Type.Literal('error'), Type.Literal('critical')]),
    endpoint: Type.Optional(Type.String({ maxLength: 1024 })),
    stack: Type.Optional(Type.String({ maxLength: 65536 })),
  },
  { $id: 'ErrorPayloadV1', description: 'events.errors: an error or exception report' },
);

export const UserPayloadV1 = Type.Object(
  {
    user_id: Name('User id'),
    action: Name('Interaction, e.g. "click"'),
    target: Type.Optional(Type.String({ maxLength: 1024 })),
    session_id: Type.Optional(Type.String({ maxLength: 256 })),
    properties: Type.Optional(Properties),
  },
  { $id: 'UserPayloadV1', description: 'events.user: a user interaction' },
);

export const PAYLOAD_SCHEMAS = {
  'events.metrics': MetricPayloadV1,
  'events.analytics': AnalyticsPayloadV1,
  'events.devices': DevicePayloadV1,
  'events.reality': RealityPayloadV1,
  'events.errors': ErrorPayloadV1,
  'events.user': UserPayloadV1,
} as const satisfies Record<string, TSchema>;

export type MetricPayload = Static<typeof MetricPayloadV1>;
export type AnalyticsPayload = Static<typeof AnalyticsPayloadV1>;
export type DevicePayload = Static<typeof DevicePayloadV1>;
export type RealityPayload = Static<typeof RealityPayloadV1>;
export type ErrorPayload = Static<typeof ErrorPayloadV1>;
export type UserPayload = Static<typeof UserPayloadV1>;
export type PayloadOf<T extends keyof typeof PAYLOAD_SCHEMAS> = Static<(typeof PAYLOAD_SCHEMAS)[T]>;

export const SCHEMA_VERSION = 1;

const Topic = Type.Union(
  Object.keys(PAYLOAD_SCHEMAS).map((t) => Type.Literal(t)),
  { description: 'One of the six event topics' },
);

/** What a producer sends: `id`, `timestamp`, `type`, `source`, `key` and `schema_version` may be omitted. */
export const EventInputSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Unique id; a UUID is filled in when absent' })),
    topic: Topic,
    type: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Event type; defaults to the topic name without "events."' })),
    timestamp: Type.Optional(EventTime('Event time: ISO-8601 string or epoch milliseconds; the receive time is filled in when absent')),
    source: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Producer name' })),
    key: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'Partition key; derived from the payload when absent' })),
    schema_version: Type.Optional(Type.Literal(1)),
    payload: Type.Object({}, { additionalProperties: true, description: 'The topic-specific payload (see the payload schemas)' }),
  },
  { $id: 'EventInput', additionalProperties: false },
);

/** The envelope as it travels on Kafka: every field filled in. */
export const EventEnvelopeSchema = Type.Object(
  {
    id: Type.String(),
    topic: Topic,
    type: Type.String(),
    timestamp: Type.String({ format: 'date-time' }),
    source: Type.String(),
    key: Type.String(),
    schema_version: Type.Literal(1),
    payload: Type.Record(Type.String(), Type.Unknown()),
  },
  { $id: 'EventEnvelope' },
);

export type EventInput = Static<typeof EventInputSchema>;
export type EventEnvelope<P = Record<string, unknown>> = Omit<Static<typeof EventEnvelopeSchema>, 'payload'> & { payload: P };

/** `POST /pipeline/aggregate` body: one metric, or `{ metrics: [...] }`. */
export const AggregateMetricSchema = Type.Object(
  {
    metric_name: Name('Metric name'),
    value: Type.Number({ description: 'A finite number' }),
    group_by: Type.Optional(Name('Group within the metric')),
    timestamp: Type.Optional(EventTime('Event time: ISO-8601 string or epoch milliseconds; the receive time is used when absent')),
    tags: Type.Optional(Tags),
  },
  { $id: 'AggregateMetric', additionalProperties: false },
);
export const AggregateRequestSchema = Type.Union(
  [AggregateMetricSchema, Type.Object({ metrics: Type.Array(AggregateMetricSchema, { minItems: 1, maxItems: 10000 }) }, { additionalProperties: false })],
  { $id: 'AggregateRequest' },
);
export type AggregateMetric = Static<typeof AggregateMetricSchema>;

/** The one error shape every HTTP error has. */
export const ErrorResponseSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable machine-readable code, e.g. "invalid_event"' }),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { $id: 'ErrorResponse' },
);

export const IngestResponseSchema = Type.Object(
  {
    accepted: Type.Integer({ description: 'Events published' }),
    rejected: Type.Array(Type.Object({ index: Type.Integer(), error: Type.String() }), { description: 'The first 100 rejected events, by index in the request' }),
    rejected_count: Type.Integer({ description: 'All rejected events (rejected lists at most the first 100)' }),
    ids: Type.Optional(Type.Array(Type.String())),
  },
  { $id: 'IngestResponse' },
);

import { FormatRegistry, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { randomUUID } from 'node:crypto';
import { describeFirstError } from './describeFirstError';
import { ContractError, InvalidJsonError } from './errors';
import { parseDateTime } from './parseDateTime';
import { EventInputSchema, PAYLOAD_SCHEMAS, SCHEMA_VERSION, type EventEnvelope, type EventInput } from './schemas';
import { isEventTopic, type EventTopic } from './topics';

// One definition of `date-time` (RFC 3339 with a zone, calendar-checked: 2024-02-30 is refused).
FormatRegistry.Set('date-time', (v) => parseDateTime(v) !== undefined);

/** Free-form objects (properties, state, tags) may nest at most this deep. */
export const MAX_PAYLOAD_DEPTH = 32;

interface EnvelopeChecks {
  input: TypeCheck<typeof EventInputSchema>;
  payload: Record<EventTopic, TypeCheck<TSchema>>;
}
let envelopeChecks: EnvelopeChecks | undefined;

/**
 * Compiled once, on the first event validated; each check is then a straight-line JS function.
 * Not at module load: services that import the contracts without validating whole events (the
 * aggregator reads records with EventRecordReader) do not pay for compiling them at start-up.
 */
function checks(): EnvelopeChecks {
  envelopeChecks ??= {
    input: TypeCompiler.Compile(EventInputSchema),
    payload: Object.fromEntries(Object.entries(PAYLOAD_SCHEMAS).map(([topic, schema]) => [topic, TypeCompiler.Compile(schema as TSchema)])) as Record<EventTopic, TypeCheck<TSchema>>,
  };
  return envelopeChecks;
}

export function compileValidator<T extends TSchema>(schema: T): TypeCheck<T> {
  return TypeCompiler.Compile(schema);
}

/** True when `value` nests objects/arrays deeper than `max` (iterative: no stack overflow on hostile input). */
export function exceedsDepth(value: unknown, max: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (d > max) return true;
    const children = Array.isArray(v) ? v : Object.values(v as object);
    for (const c of children) if (c !== null && typeof c === 'object') stack.push([c, d + 1]);
  }
  return false;
}

function deriveKey(topic: EventTopic, p: Record<string, unknown>): string {
  switch (topic) {
    case 'events.metrics':
      // One metric/group series stays on one partition (the aggregator relies on this).
      return p['group_by'] === undefined ? String(p['metric_name']) : `${String(p['metric_name'])}|${String(p['group_by'])}`;
    case 'events.analytics':
    case 'events.user':
      return String(p['user_id']);
    case 'events.devices':
      return String(p['device_id']);
    case 'events.reality':
      return String(p['twin_id']);
    case 'events.errors':
      return String(p['service']);
  }
}

const FREE_FORM_FIELDS = ['properties', 'state', 'previous_state', 'attributes'] as const;
const CANONICAL_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function toIsoTimestamp(ts: string | number | undefined, nowMs: number): string {
  if (ts === undefined) return new Date(nowMs).toISOString();
  if (typeof ts === 'string' && CANONICAL_ISO.test(ts)) return ts; // already what toISOString() would print
  if (typeof ts === 'number') return new Date(ts).toISOString(); // the schema bounds it to a Date's range
  return new Date(parseDateTime(ts)!).toISOString(); // the schema's date-time format accepted it
}

/** Milliseconds as seconds with at most 3 decimals: 60000 → "60", 1500 → "1.5". */
function seconds(ms: number): string {
  return String(Math.round(ms) / 1000);
}

export interface NormalizeOptions {
  /** Receive time in epoch ms, used when `timestamp` is absent. */
  nowMs: number;
  /** Producer name used when `source` is absent. */
  defaultSource: string;
  /** Id generator for events without `id` (default: random UUID v4). */
  newId?: () => string;
  /**
   * When set, an event whose `timestamp` is more than this many ms ahead of `nowMs` is refused
   * (ContractError on `timestamp` naming the value and the allowed skew). HTTP edges set it; readers
   * of the topics do not, so a future-stamped event written straight to Kafka reaches the aggregator,
   * which counts it as a future event instead of aggregating it.
   */
  maxFutureSkewMs?: number;
}

/**
 * Validates one event as sent by a producer and returns the full envelope with `id`, `timestamp`,
 * `type`, `source`, `key` and `schema_version` filled in. Throws ContractError naming the field.
 */
export function normalizeEvent(input: unknown, opts: NormalizeOptions): EventEnvelope {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ContractError(`event must be a JSON object, got ${input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input}`, '');
  }
  const raw = input as Record<string, unknown>;
  if (!isEventTopic(raw['topic'])) {
    const got = raw['topic'] === undefined ? 'nothing' : JSON.stringify(raw['topic']);
    throw new ContractError(`topic must be one of events.analytics, events.devices, events.reality, events.errors, events.metrics, events.user, got ${got}`, 'topic');
  }
  const { input: inputCheck, payload: payloadChecks } = checks();
  if (!inputCheck.Check(raw)) throw describeFirstError(inputCheck, raw);
  const ev = raw as EventInput;
  const topic = ev.topic as EventTopic;
  const payloadCheck = payloadChecks[topic];
  if (!payloadCheck.Check(ev.payload)) throw describeFirstError(payloadCheck, ev.payload, '/payload');
  const payload = ev.payload as Record<string, unknown>;
  // Only the free-form fields can nest; the schema bounds everything else.
  for (const field of FREE_FORM_FIELDS) {
    const v = payload[field];
    if (v !== undefined && exceedsDepth(v, MAX_PAYLOAD_DEPTH - 1)) {
      throw new ContractError(`payload must nest at most ${MAX_PAYLOAD_DEPTH} levels deep`, 'payload');
    }
  }
  const timestamp = toIsoTimestamp(ev.timestamp, opts.nowMs);
  if (opts.maxFutureSkewMs !== undefined && ev.timestamp !== undefined) {
    const aheadMs = Date.parse(timestamp) - opts.nowMs;
    if (aheadMs > opts.maxFutureSkewMs) {
      throw new ContractError(
        `timestamp must be at most ${seconds(opts.maxFutureSkewMs)} s ahead of the server clock, got ${JSON.stringify(ev.timestamp)} (${seconds(aheadMs)} s ahead)`,
        'timestamp',
      );
    }
  }
  return {
    id: ev.id ?? (opts.newId ? opts.newId() : randomUUID()),
    topic,
    type: ev.type ?? topic.slice('events.'.length),
    timestamp,
    source: ev.source ?? opts.defaultSource,
    key: ev.key ?? deriveKey(topic, payload),
    schema_version: SCHEMA_VERSION,
    payload,
  };
}

/**
 * Checks an envelope read from a topic (e.g. one a producer wrote with kcat). The topic it was
 * read from wins over the `topic` field; missing `id`/`timestamp` are filled as on ingest.
 */
export function parseEnvelope(bytes: Buffer | string, topic: string, opts: NormalizeOptions): EventEnvelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (e) {
    throw new InvalidJsonError(`message is not valid JSON: ${(e as Error).message}`);
  }
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
    const obj = parsed as Record<string, unknown>;
    if (obj['topic'] === undefined) obj['topic'] = topic;
    else if (obj['topic'] !== topic) throw new ContractError(`topic field ${JSON.stringify(obj['topic'])} does not match the topic it was published to (${topic})`, 'topic');
  }
  return normalizeEvent(parsed, opts);
}

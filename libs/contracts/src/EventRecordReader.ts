import { Type, type TObject, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { describeFirstError } from './describeFirstError';
import { ContractError, InvalidJsonError } from './errors';
import { MAX_EPOCH_MS, parseDateTime } from './parseDateTime';
import { EVENT_TIME_ERROR, PAYLOAD_SCHEMAS } from './schemas';
import type { EventTopic } from './topics';

/** One event record as a reader of the topics needs it; `read` refills the same object for every record. */
export interface EventRecord {
  /** Event time, epoch ms. */
  eventTimeMs: number;
  /** The payload as parsed; the fields the reader was asked for have passed their schema. */
  payload: Record<string, unknown>;
}

/**
 * Reads event records from the event topics for a consumer that uses only some payload fields (the
 * aggregator: metric_name, value, group_by and the top-K dimensions), at close to the cost of
 * `JSON.parse` alone. The full contract is checked once, where events enter: the gateway and ingest
 * (`normalizeEvent`) and, for records other producers write straight to a topic, ingest's
 * dead-letter validator (`parseEnvelope`). A reader further down checks only what it reads:
 *
 * - the record is a JSON object whose `topic`, if present, is the topic it was read from;
 * - `payload` is an object whose listed fields pass their own schemas (e.g. `metric_name` a printable
 *   name of 1–256 characters, `value` a finite number, `group_by` absent or a name), compiled once
 *   from `PAYLOAD_SCHEMAS` with `Type.Pick`: the same rules as the full check, for those fields;
 * - the event time. Ingest sets each record's timestamp to the event time, so when the envelope's
 *   `timestamp` is absent or is exactly what `new Date(recordTimestampMs).toISOString()` prints
 *   (compared digit by digit, nothing allocated or parsed), the record timestamp is the event time.
 *   Otherwise (a producer that set its own `timestamp`, e.g. kcat, whose record timestamp is the
 *   send time) the envelope's `timestamp` is checked and parsed as the full contract does: an
 *   RFC 3339 date-time, or epoch ms within the Date range.
 *
 * Not checked here (ingest dead-letters them): the other envelope fields (id, type, source, key,
 * schema_version, unknown fields) and the payload fields not listed. A record that fails a check is
 * answered with the ContractError naming the field, as `parseEnvelope` would name it.
 *
 *   const reader = new EventRecordReader({ 'events.metrics': ['metric_name', 'value', 'group_by'] });
 *   const rec: EventRecord = { eventTimeMs: 0, payload: {} };
 *   reader.read(m.value, m.topic, m.timestampMs, rec); // undefined: rec holds the event
 */
export class EventRecordReader {
  private readonly checks = new Map<string, TypeCheck<TSchema>>();
  /** The last `timestamp` text found equal to its record timestamp: the records of one ingest request share it. */
  private sameMs = Number.NaN;
  private sameText = '';

  /** `fieldsByTopic`: the payload fields to check per event topic (a topic not listed: the payload must only be an object). */
  constructor(fieldsByTopic: Readonly<Partial<Record<EventTopic, readonly string[]>>>) {
    for (const [topic, schema] of Object.entries(PAYLOAD_SCHEMAS) as Array<[EventTopic, TObject]>) {
      const fields = (fieldsByTopic[topic] ?? []).filter((f) => f in schema.properties);
      this.checks.set(topic, TypeCompiler.Compile(Type.Pick(schema, fields)));
    }
  }

  /**
   * Parses one record of `topic` into `out` (its `payload` and `eventTimeMs` are overwritten);
   * undefined when it holds an event, else the ContractError saying what is wrong with it (and `out`
   * is left in an unspecified state).
   */
  read(value: Buffer | string, topic: string, recordTimestampMs: number, out: EventRecord): ContractError | undefined {
    let parsed: unknown;
    try {
      parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
    } catch (e) {
      return new InvalidJsonError(`message is not valid JSON: ${(e as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      return new ContractError(`event must be a JSON object, got ${parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : typeof parsed}`, '');
    }
    const ev = parsed as Record<string, unknown>;
    const check = this.checks.get(topic);
    if (check === undefined) {
      return new ContractError(`topic must be one of events.analytics, events.devices, events.reality, events.errors, events.metrics, events.user, got ${JSON.stringify(topic)}`, 'topic');
    }
    const named = ev['topic'];
    if (named !== undefined && named !== topic) return new ContractError(`topic field ${JSON.stringify(named)} does not match the topic it was published to (${topic})`, 'topic');
    const payload = ev['payload'];
    if (payload === undefined) return new ContractError('payload is required', 'payload');
    const ts = ev['timestamp'];
    if (ts === undefined || (typeof ts === 'string' && this.isRecordTime(ts, recordTimestampMs))) {
      out.eventTimeMs = recordTimestampMs;
    } else if (typeof ts === 'string') {
      const ms = parseDateTime(ts);
      if (ms === undefined) return new ContractError(`timestamp ${EVENT_TIME_ERROR}, got ${JSON.stringify(ts)}`, 'timestamp');
      out.eventTimeMs = ms;
    } else if (typeof ts === 'number') {
      if (!(Math.abs(ts) <= MAX_EPOCH_MS)) return new ContractError(`timestamp ${EVENT_TIME_ERROR}, got ${ts}`, 'timestamp');
      out.eventTimeMs = Math.trunc(ts) + 0; // as new Date(ts) keeps it (+ 0: no -0)
    } else {
      return new ContractError(`timestamp ${EVENT_TIME_ERROR}, got ${JSON.stringify(ts)}`, 'timestamp');
    }
    if (!check.Check(payload)) return describeFirstError(check, payload, '/payload');
    out.payload = payload as Record<string, unknown>;
    return undefined;
  }

  private isRecordTime(text: string, ms: number): boolean {
    if (ms === this.sameMs && text === this.sameText) return true;
    if (!isIsoOfEpochMs(text, ms)) return false;
    this.sameMs = ms;
    this.sameText = text;
    return true;
  }
}

const MS_PER_DAY = 86_400_000;
/** 9999-12-31T23:59:59.999Z: the last instant `toISOString` prints with a 4-digit year. */
const LAST_4_DIGIT_YEAR_MS = 253_402_300_799_999;

/**
 * True when `text` is exactly `new Date(ms).toISOString()` (`YYYY-MM-DDTHH:MM:SS.mmmZ`, years
 * 1970–9999), compared character by character without building a string or parsing one.
 *   isIsoOfEpochMs('2026-12-07T10:00:00.250Z', Date.UTC(2026, 11, 7, 10, 0, 0, 250)) // true
 */
export function isIsoOfEpochMs(text: string, ms: number): boolean {
  if (text.length !== 24 || !(ms >= 0 && ms <= LAST_4_DIGIT_YEAR_MS) || ms % 1 !== 0) return false;
  const days = Math.floor(ms / MS_PER_DAY);
  let rest = ms - days * MS_PER_DAY;
  // Civil date from days since 1970-01-01 (H. Hinnant's algorithm, as parseDateTime's inverse).
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  // rest < 86,400,000 and every part below 2^31: integer division is `(a / b) | 0`.
  const hour = (rest / 3_600_000) | 0;
  rest -= hour * 3_600_000;
  const minute = (rest / 60_000) | 0;
  rest -= minute * 60_000;
  const second = (rest / 1000) | 0;
  const milli = rest - second * 1000;
  return (
    digitsAre(text, 0, 4, year) &&
    text.charCodeAt(4) === 45 && // -
    digitsAre(text, 5, 2, month) &&
    text.charCodeAt(7) === 45 &&
    digitsAre(text, 8, 2, day) &&
    text.charCodeAt(10) === 84 && // T
    digitsAre(text, 11, 2, hour) &&
    text.charCodeAt(13) === 58 && // :
    digitsAre(text, 14, 2, minute) &&
    text.charCodeAt(16) === 58 &&
    digitsAre(text, 17, 2, second) &&
    text.charCodeAt(19) === 46 && // .
    digitsAre(text, 20, 3, milli) &&
    text.charCodeAt(23) === 90 // Z
  );
}

/** True when text[at, at + width) is `value` in decimal, zero-padded to `width` digits. */
function digitsAre(text: string, at: number, width: number, value: number): boolean {
  for (let i = at + width - 1; i >= at; i--) {
    if (text.charCodeAt(i) !== 48 + (value % 10)) return false;
    value = (value / 10) | 0;
  }
  return true;
}

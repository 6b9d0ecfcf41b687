import { EventRecordReader, isIsoOfEpochMs, normalizeEvent, parseEnvelope, type EventRecord } from './index';

const FIELDS = {
  'events.metrics': ['metric_name', 'group_by', 'value'],
  'events.errors': ['error_type', 'service', 'endpoint'],
  'events.analytics': ['action'],
} as const;
const T = Date.UTC(2026, 11, 7, 10, 0, 0, 250);

function read(value: string, topic = 'events.metrics', recordTimestampMs = T) {
  const out: EventRecord = { eventTimeMs: -1, payload: {} };
  const error = new EventRecordReader(FIELDS).read(Buffer.from(value), topic, recordTimestampMs, out);
  return error === undefined ? { eventTimeMs: out.eventTimeMs, payload: out.payload } : { error: error.message, field: error.field };
}

describe('EventRecordReader', () => {
  it('takes the event time from the record timestamp when the envelope says the same, as ingest publishes it', () => {
    const ev = normalizeEvent({ topic: 'events.metrics', timestamp: T, payload: { metric_name: 'latency_ms', value: 150.5, group_by: 'api' } }, { nowMs: T, defaultSource: 't' });
    expect(read(JSON.stringify(ev))).toEqual({ eventTimeMs: T, payload: { metric_name: 'latency_ms', value: 150.5, group_by: 'api' } });
    expect(read('{"payload":{"metric_name":"m","value":1}}', 'events.metrics', T)).toEqual({ eventTimeMs: T, payload: { metric_name: 'm', value: 1 } });
  });

  it("uses the envelope's own timestamp when it differs from the record's (a producer such as kcat stamps the send time)", () => {
    const dayAhead = T + 86_400_000;
    expect(read(`{"timestamp":"${new Date(dayAhead).toISOString()}","payload":{"metric_name":"m","value":1}}`)).toEqual({ eventTimeMs: dayAhead, payload: { metric_name: 'm', value: 1 } });
    expect(read('{"timestamp":"2026-12-07T11:00:00+01:00","payload":{"metric_name":"m","value":1}}')).toEqual({ eventTimeMs: Date.UTC(2026, 11, 7, 10), payload: { metric_name: 'm', value: 1 } });
    expect(read('{"timestamp":1700000000123.9,"payload":{"metric_name":"m","value":1}}')).toEqual({ eventTimeMs: 1700000000123, payload: { metric_name: 'm', value: 1 } });
  });

  it('checks each timestamp against its own record, also when consecutive records share one', () => {
    const reader = new EventRecordReader(FIELDS);
    const out: EventRecord = { eventTimeMs: -1, payload: {} };
    const at = (timestamp: string, recordTimestampMs: number) => {
      reader.read(`{"timestamp":"${timestamp}","payload":{"metric_name":"m","value":1}}`, 'events.metrics', recordTimestampMs, out);
      return out.eventTimeMs;
    };
    const iso = new Date(T).toISOString();
    expect([at(iso, T), at(iso, T), at(iso, T + 1), at(iso, T), at('2026-12-07T10:00:00.250+00:00', T), at(new Date(T + 5).toISOString(), T)]).toEqual([T, T, T, T, T, T + 5]);
  });

  it('refuses what parseEnvelope refuses in the fields it reads, with the same message', () => {
    const bad = [
      '{oops',
      '[1]',
      '{"topic":"events.user","payload":{"metric_name":"m","value":1}}',
      '{"timestamp":"x"}',
      '{"payload":{"value":1}}',
      '{"payload":{"metric_name":"m","value":"1"}}',
      '{"payload":{"metric_name":"","value":1}}',
      '{"payload":{"metric_name":"m","value":1,"group_by":"a\\u0000b"}}',
      '{"payload":5}',
      '{"timestamp":"2024-02-30T00:00:00Z","payload":{"metric_name":"m","value":1}}',
      '{"timestamp":"yesterday","payload":{"metric_name":"m","value":1}}',
      '{"timestamp":1e300,"payload":{"metric_name":"m","value":1}}',
    ];
    const expected = bad.map((v) => {
      try {
        parseEnvelope(v, 'events.metrics', { nowMs: T, defaultSource: 't' });
        return 'accepted';
      } catch (e) {
        return (e as Error).message;
      }
    });
    expect(bad.map((v) => read(v).error ?? 'accepted')).toEqual(expected);
    expect(read('{"payload":{"action":"login"}}', 'events.analytics')).toEqual({ eventTimeMs: T, payload: { action: 'login' } });
    expect(read('{"payload":{"service":"api","error_type":7}}', 'events.errors')).toEqual({ error: 'payload.error_type must be string, got 7', field: 'payload.error_type' });
  });

  it("leaves the fields it does not read to ingest's dead-letter validator", () => {
    const record = '{"id":"","extra":1,"timestamp":"2026-12-07T10:00:00.250Z","payload":{"metric_name":"m","value":2,"unit":5}}';
    expect(() => parseEnvelope(record, 'events.metrics', { nowMs: T, defaultSource: 't' })).toThrow();
    expect(read(record)).toEqual({ eventTimeMs: T, payload: { metric_name: 'm', value: 2, unit: 5 } });
  });
});

describe('isIsoOfEpochMs', () => {
  it('is true exactly for what toISOString prints', () => {
    const edges = [0, 951_782_400_000 /* 2000-02-29 */, 4_107_542_399_999 /* 2100-02-28T23:59:59.999 */, 253_402_300_799_999, T];
    let seed = 7;
    const random = Array.from({ length: 2000 }, () => (seed = (seed * 48_271) % 2_147_483_647) * 117_000 + (seed % 1000));
    for (const ms of [...edges, ...random]) {
      const iso = new Date(ms).toISOString();
      expect([ms, isIsoOfEpochMs(iso, ms), isIsoOfEpochMs(iso, ms + 1), isIsoOfEpochMs(iso, ms + 86_400_000)]).toEqual([ms, true, false, false]);
    }
    expect([isIsoOfEpochMs('2026-12-07T10:00:00.250+00:00', T), isIsoOfEpochMs('2026-12-07T10:00:00.250z', T), isIsoOfEpochMs('+010000-01-01T00:00:00.000Z', 253_402_300_800_000), isIsoOfEpochMs('1969-12-31T23:59:59.999Z', -1)]).toEqual([false, false, false, false]);
  });
});

import { normalizeEvent, parseEnvelope, exceedsDepth, ContractError } from './index';

const opts = { nowMs: Date.UTC(2026, 10, 27, 12, 0, 0), defaultSource: 'test', newId: () => 'id-1' };
const metric = (payload: Record<string, unknown>) => ({ topic: 'events.metrics', payload });

function errorOf(input: unknown): string {
  try {
    normalizeEvent(input, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(ContractError);
    return (e as Error).message;
  }
  throw new Error('expected a ContractError');
}

describe('normalizeEvent', () => {
  it('fills id, timestamp, type, source, key and schema version for a metric event', () => {
    expect(normalizeEvent(metric({ metric_name: 'latency', value: 150.5, group_by: 'api' }), opts)).toEqual({
      id: 'id-1',
      topic: 'events.metrics',
      type: 'metrics',
      timestamp: '2026-11-27T12:00:00.000Z',
      source: 'test',
      key: 'latency|api',
      schema_version: 1,
      payload: { metric_name: 'latency', value: 150.5, group_by: 'api' },
    });
  });

  it('keeps given id, key and timestamp (epoch ms or ISO) and normalises the timestamp to ISO', () => {
    const ev = normalizeEvent({ id: 'x', key: 'k', timestamp: 0, topic: 'events.user', payload: { user_id: 'u', action: 'click' } }, opts);
    expect([ev.id, ev.key, ev.timestamp]).toEqual(['x', 'k', '1970-01-01T00:00:00.000Z']);
    expect(normalizeEvent({ timestamp: '2026-01-02T03:04:05+01:00', topic: 'events.user', payload: { user_id: 'u', action: 'a' } }, opts).timestamp).toBe(
      '2026-01-02T02:04:05.000Z',
    );
  });

  it('derives keys per topic so one entity stays on one partition', () => {
    const key = (topic: string, payload: object) => normalizeEvent({ topic, payload }, opts).key;
    expect(key('events.metrics', { metric_name: 'cpu', value: 1 })).toBe('cpu');
    expect(key('events.analytics', { user_id: 'u7', action: 'login' })).toBe('u7');
    expect(key('events.devices', { device_id: 'd1', reading: 't', value: 2 })).toBe('d1');
    expect(key('events.reality', { twin_id: 'tw', change: 'moved', state: {} })).toBe('tw');
    expect(key('events.errors', { service: 'api', error_type: 'E', message: 'm', severity: 'error' })).toBe('api');
  });

  it('names the field and what was expected for wrong or missing values', () => {
    expect(errorOf(metric({ metric_name: 'x', value: 'abc' }))).toBe('payload.value must be number, got "abc"');
    expect(errorOf(metric({ metric_name: 'x' }))).toBe('payload.value is required');
    expect(errorOf(metric({ metric_name: 'x', value: NaN }))).toBe('payload.value must be number, got NaN');
    expect(errorOf(metric({ metric_name: 'x', value: Infinity }))).toBe('payload.value must be number, got Infinity');
    expect(errorOf({ topic: 'events.nope', payload: {} })).toBe(
      'topic must be one of events.analytics, events.devices, events.reality, events.errors, events.metrics, events.user, got "events.nope"',
    );
    expect(errorOf({ payload: {} })).toMatch(/^topic must be one of .*, got nothing$/);
    expect(errorOf([1])).toBe('event must be a JSON object, got an array');
    expect(errorOf({ topic: 'events.errors', payload: { service: 's', error_type: 'E', message: 'm', severity: 'fatal' } })).toMatch(/^payload\.severity must be/);
    expect(errorOf({ topic: 'events.metrics', payload: { metric_name: 'x', value: 1 }, extra: 1 })).toBe('extra is not an allowed field (allowed: id, topic, type, timestamp, source, key, schema_version, payload)');
    expect(errorOf({ topic: 'events.metrics', timestamp: 'yesterday', payload: { metric_name: 'x', value: 1 } })).toMatch(/^timestamp must be/);
  });

  it('refuses a timestamp more than maxFutureSkewMs ahead of nowMs, naming the value and the allowed skew', () => {
    const skewed = { ...opts, maxFutureSkewMs: 60_000 };
    const at = (timestamp: string | number) => ({ topic: 'events.metrics', timestamp, payload: { metric_name: 'x', value: 1 } });
    const refusal = (timestamp: string | number) => {
      try {
        normalizeEvent(at(timestamp), skewed);
      } catch (e) {
        return [(e as ContractError).field, (e as ContractError).message];
      }
      return 'accepted';
    };
    expect(refusal(opts.nowMs + 86_400_000)).toEqual(['timestamp', `timestamp must be at most 60 s ahead of the server clock, got ${opts.nowMs + 86_400_000} (86400 s ahead)`]);
    expect(refusal('9999-12-31T23:59:59Z')).toEqual(['timestamp', 'timestamp must be at most 60 s ahead of the server clock, got "9999-12-31T23:59:59Z" (251606519999 s ahead)']);
    expect(refusal(opts.nowMs + 60_001)).toEqual(['timestamp', `timestamp must be at most 60 s ahead of the server clock, got ${opts.nowMs + 60_001} (60.001 s ahead)`]);
    expect(refusal(opts.nowMs + 60_000)).toBe('accepted');
    expect(refusal('2020-01-01T00:00:00Z')).toBe('accepted'); // the past is the aggregator's business (late events)
    expect(normalizeEvent(at(opts.nowMs + 86_400_000), opts).timestamp).toBe('2026-11-28T12:00:00.000Z'); // no skew option: Kafka readers keep it
  });

  it('rejects payloads nested deeper than 32 levels without overflowing the stack', () => {
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 10_000; i++) {
      const next = {};
      deep['a'] = next;
      deep = next;
    }
    expect(errorOf({ topic: 'events.analytics', payload: { user_id: 'u', action: 'a', properties: root } })).toBe('payload must nest at most 32 levels deep');
    expect(exceedsDepth({ a: { b: 1 } }, 2)).toBe(false);
    expect(exceedsDepth({ a: { b: {} } }, 2)).toBe(true);
  });
});

describe('parseEnvelope', () => {
  it('accepts a message a foreign producer wrote without topic/id/timestamp', () => {
    const ev = parseEnvelope(Buffer.from('{"payload":{"metric_name":"m","value":3}}'), 'events.metrics', opts);
    expect(ev.topic).toBe('events.metrics');
    expect(ev.payload).toEqual({ metric_name: 'm', value: 3 });
  });
  it('reports invalid JSON and a topic mismatch', () => {
    expect(() => parseEnvelope('{oops', 'events.metrics', opts)).toThrow(/^message is not valid JSON: /);
    expect(() => parseEnvelope('{"topic":"events.user","payload":{}}', 'events.metrics', opts)).toThrow(
      'topic field "events.user" does not match the topic it was published to (events.metrics)',
    );
  });
});

import { BatchSummary } from './BatchSummary';
import { BatchInputError } from './errors';
import { processBatch } from './processBatch';

const T0 = Date.UTC(2024, 4, 1);

describe('processBatch', () => {
  it('summarises envelopes and loose dicts; events without a value count but are not in the value statistics', () => {
    const events = [
      { id: 'e1', topic: 'analytics', type: 'click', timestamp: '2024-05-01T00:00:00Z', source: 'web', payload: { value: 2 } },
      { type: 'view', timestamp: T0 + 10_000, value: 4 },
      { id: 'e3', topic: 'analytics', type: 'click', timestamp: '2024-05-01T00:00:05.500Z', source: 'web', payload: {} },
      { timestamp: T0 + 1000, value: 6 },
    ];
    expect(processBatch(events)).toEqual({
      count: 4,
      value_count: 3,
      sum: 12,
      mean: 4,
      min: 2,
      max: 6,
      stddev: Math.sqrt(8 / 3),
      by_type: { click: 2, unknown: 1, view: 1 },
      time_span: { start: '2024-05-01T00:00:00.000Z', end: '2024-05-01T00:00:10.000Z', seconds: 10 },
    });
  });

  it('reads the value from value_key, also as a dotted path', () => {
    const events = [{ timestamp: 0, value: 100, payload: { value: 1, latency: { ms: 7 } } }];
    expect(processBatch(events, { valueKey: 'payload.value' }).sum).toBe(1);
    expect(processBatch(events, { valueKey: 'payload.latency.ms' }).sum).toBe(7);
    expect(processBatch(events).sum).toBe(100);
  });

  it('gives nulls for an empty batch and for a batch without values', () => {
    const empty = { count: 0, value_count: 0, sum: 0, mean: null, min: null, max: null, stddev: null, by_type: {}, time_span: { start: null, end: null, seconds: 0 } };
    expect(processBatch([])).toEqual(empty);
    expect(processBatch([{ timestamp: 0, type: 'x' }])).toEqual({
      ...empty,
      count: 1,
      by_type: { x: 1 },
      time_span: { start: '1970-01-01T00:00:00.000Z', end: '1970-01-01T00:00:00.000Z', seconds: 0 },
    });
  });

  it('rejects a non-numeric value naming the event index and field, instead of skipping it', () => {
    const events = [{ timestamp: 0, value: 1 }, { timestamp: 0, value: 'abc' }];
    expect(() => processBatch(events)).toThrow(new BatchInputError('events[1].value', 'must be a finite number, got "abc"'));
    expect(() => processBatch(events)).toThrow('events[1].value must be a finite number, got "abc"');
    expect(() => processBatch([{ timestamp: 0, value: '12' }])).toThrow('events[0].value must be a finite number, got "12"');
    expect(() => processBatch([{ value: 1 }])).toThrow('events[0].timestamp must be an ISO-8601 date-time with a zone or epoch milliseconds, got undefined');
    expect(() => processBatch([42])).toThrow('events[0] must be an event object, got 42');
  });

  it('BatchSummary.merge leaves the argument unchanged and round-trips through JSON', () => {
    const a = BatchSummary.create();
    a.record([{ timestamp: 0, value: -3, type: 'a' }]);
    const b = BatchSummary.create();
    b.record([{ timestamp: 5000, value: 0, type: 'b' }, { timestamp: 1000, value: 9, type: 'a' }], 1);
    const before = JSON.stringify(b.serialize());
    a.merge(b);
    expect(JSON.stringify(b.serialize())).toBe(before);
    const copy = BatchSummary.deserialize(JSON.parse(JSON.stringify(a.serialize())));
    expect(copy.result()).toEqual(a.result());
    expect(a.result()).toEqual({
      count: 3, value_count: 3, sum: 6, mean: 2, min: -3, max: 9, stddev: Math.sqrt(26),
      by_type: { a: 2, b: 1 },
      time_span: { start: '1970-01-01T00:00:00.000Z', end: '1970-01-01T00:00:05.000Z', seconds: 5 },
    });
  });
});

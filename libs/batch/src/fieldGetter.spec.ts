import { compileFieldGetter } from './fieldGetter';
import { timeWindowMetrics } from './timeWindowMetrics';

describe('compileFieldGetter', () => {
  it('reads the top-level field, then payload[name], then the dotted path', () => {
    expect(compileFieldGetter('value')({ value: 1, payload: { value: 2 } })).toBe(1);
    expect(compileFieldGetter('value')({ payload: { value: 2 } })).toBe(2);
    expect(compileFieldGetter('meta.geo')({ meta: { geo: 'eu' } })).toBe('eu');
    expect(compileFieldGetter('value')({})).toBeUndefined();
  });

  it('reads only own properties: fields named like object internals are absent unless the event carries them', () => {
    // JSON.parse keeps "__proto__" as an own key, as it arrives over HTTP or Kafka.
    const carrying = JSON.parse('{"constructor":"c","payload":{"__proto__":"p","toString":3},"meta":{"hasOwnProperty":"h"}}') as Record<string, unknown>;
    expect(['constructor', '__proto__', 'toString', 'meta.hasOwnProperty'].map((f) => compileFieldGetter(f)(carrying))).toEqual(['c', 'p', 3, 'h']);
    const bare = JSON.parse('{"payload":{},"meta":{}}') as Record<string, unknown>;
    expect(['constructor', '__proto__', 'toString', 'valueOf', 'meta.constructor', 'meta.__proto__.x'].map((f) => compileFieldGetter(f)(bare))).toEqual([
      undefined, undefined, undefined, undefined, undefined, undefined,
    ]);
  });

  it('lets a batch job group by a field named "__proto__" or "constructor"', () => {
    const events = JSON.parse(
      '[{"timestamp":0,"value":1,"__proto__":"a"},{"timestamp":1,"value":3,"__proto__":"a"},{"timestamp":2,"value":5,"__proto__":"b"},{"timestamp":3,"value":7}]',
    ) as unknown[];
    const rows = timeWindowMetrics(events, { windowMinutes: 1, valueKey: 'value', groupKey: '__proto__' });
    expect(rows.map((r) => [r.group, r.count, r.sum])).toEqual([[null, 1, 7], ['a', 2, 4], ['b', 1, 5]]);
    const byConstructor = timeWindowMetrics([{ timestamp: 0, value: 2 }], { windowMinutes: 1, valueKey: 'value', groupKey: 'constructor' });
    expect(byConstructor.map((r) => [r.group, r.count])).toEqual([[null, 1]]);
  });
});

import { eventToRow } from './eventToRow';

describe('eventToRow', () => {
  it('puts payload fields over envelope fields and flattens nested objects to dotted keys', () => {
    const event = {
      id: 'e1',
      topic: 'events.devices',
      timestamp: '2026-11-27T10:00:00.000Z',
      key: 'd1',
      schema_version: 1,
      payload: { device_id: 'd1', value: 3, key: 'payload-wins', attributes: { cpu: 0.5, net: { rx: 7 } }, list: [1, 2] },
    };
    expect(eventToRow(JSON.stringify(event))).toEqual({
      id: 'e1',
      topic: 'events.devices',
      timestamp: '2026-11-27T10:00:00.000Z',
      key: 'payload-wins',
      schema_version: 1,
      device_id: 'd1',
      value: 3,
      'attributes.cpu': 0.5,
      'attributes.net.rx': 7,
      list: [1, 2],
    });
  });

  it('stops flattening below four levels and keeps the deeper object under its dotted key', () => {
    expect(eventToRow(Buffer.from('{"payload":{"a":{"b":{"c":{"d":{"e":1}}}}}}'))).toEqual({ 'a.b.c.d': { e: 1 } });
  });

  it('keeps payload fields named like object internals as fields (a "__proto__" field is not lost)', () => {
    const row = eventToRow('{"topic":"events.devices","payload":{"__proto__":7,"constructor":8,"toString":{"x":9}}}')!;
    expect(Object.entries(row)).toEqual([['topic', 'events.devices'], ['__proto__', 7], ['constructor', 8], ['toString.x', 9]]);
    expect(JSON.stringify(row)).toBe('{"topic":"events.devices","__proto__":7,"constructor":8,"toString.x":9}');
  });

  it('returns undefined for a message that is not a JSON object', () => {
    expect([eventToRow('not json'), eventToRow('[1]'), eventToRow('null'), eventToRow('{"payload":[1]}')]).toEqual([undefined, undefined, undefined, {}]);
  });
});

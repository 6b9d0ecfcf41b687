import { compileValidator } from './validateEvent';
import { Type } from '@sinclair/typebox';
import { parseDateTime } from './parseDateTime';

describe('parseDateTime (the one definition of the date-time format)', () => {
  it('reads RFC 3339 date-times with a zone as epoch ms, like Date.parse where both accept', () => {
    for (const s of ['2024-05-01T12:00:00Z', '2024-05-01T14:00:00.5+02:00', '2024-02-29T23:59:59.999Z', '1969-12-31T23:59:59.999-00:00', '2024-05-01t12:00:00z', '2024-05-01 12:00:00Z']) {
      expect([s, parseDateTime(s)]).toEqual([s, Date.parse(s)]);
    }
    expect(parseDateTime('2024-05-01T14:00:00+0200')).toBe(Date.UTC(2024, 4, 1, 12));
    expect(parseDateTime('0001-01-01T00:00:00Z')).toBe(Date.UTC(2000, 0, 1) - 730_119 * 86_400_000);
  });

  it('refuses impossible dates that Date.parse rolls over, and zone-less or second-less times', () => {
    expect(Date.parse('2024-02-30T00:00:00Z')).toBe(Date.UTC(2024, 2, 1)); // what the request readers used to accept
    for (const s of ['2024-02-30T00:00:00Z', '2023-02-29T00:00:00Z', '2024-13-01T00:00:00Z', '2024-05-01T24:00:00Z', '2024-05-01T00:60:00Z', '2024-05-01T00:00:60Z', '2024-05-01T00:00:00+24:00', '2024-05-01T00:00:00', '2024-05-01T00:00Z', '2024-05-01', 'yesterday']) {
      expect([s, parseDateTime(s)]).toEqual([s, undefined]);
    }
  });

  it('is what the schemas’ date-time format checks', () => {
    const check = compileValidator(Type.String({ format: 'date-time' }));
    expect([check.Check('2024-02-29T00:00:00Z'), check.Check('2024-02-30T00:00:00Z')]).toEqual([true, false]);
  });
});

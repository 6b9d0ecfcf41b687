import { BatchInputError } from './errors';
import { parseTimestamp } from './parseTimestamp';

describe('parseTimestamp', () => {
  it('reads ISO-8601 date-times with Z or an offset, and epoch milliseconds, as epoch ms UTC', () => {
    expect(parseTimestamp('2024-05-01T00:00:00Z', 't')).toBe(Date.UTC(2024, 4, 1));
    expect(parseTimestamp('2024-05-01T01:30:00.250+02:00', 't')).toBe(Date.UTC(2024, 3, 30, 23, 30, 0, 250));
    expect(parseTimestamp('2024-02-29T23:59Z', 't')).toBe(Date.UTC(2024, 1, 29, 23, 59));
    expect(parseTimestamp('1969-12-31T23:59:59.999-00:00', 't')).toBe(-1);
    expect(parseTimestamp(1714521600000, 't')).toBe(1714521600000);
  });

  it('agrees with Date.parse on a sweep of dates across leap years and centuries', () => {
    for (let ms = Date.UTC(1899, 11, 31); ms < Date.UTC(2101, 0, 2); ms += 86_400_000 * 37 + 3_723_456) {
      const iso = new Date(ms).toISOString();
      expect(parseTimestamp(iso, 't')).toBe(ms);
    }
  });

  it('rejects zone-less strings, impossible dates and non-finite numbers with the field in the message', () => {
    for (const bad of ['2024-05-01T00:00:00', '2024-05-01', '2024-02-30T00:00Z', '2024-05-01T24:00Z', '2024-05-01T00:00:60Z', 'yesterday', NaN, Infinity, 9e15, null, undefined, {}]) {
      expect(() => parseTimestamp(bad, 'events[3].timestamp')).toThrow(BatchInputError);
    }
    expect(() => parseTimestamp('2024-05-01T00:00:00', 'events[3].timestamp')).toThrow(
      'events[3].timestamp must be an ISO-8601 date-time with a zone or epoch milliseconds, got "2024-05-01T00:00:00"',
    );
  });
});

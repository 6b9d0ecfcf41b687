import { timeWindowMetrics } from './timeWindowMetrics';
import { WindowMetricsPartial } from './WindowMetricsPartial';

const T0 = Date.UTC(2024, 4, 1);
const at = (minutes: number) => T0 + minutes * 60_000;
const iso = (minutes: number) => new Date(at(minutes)).toISOString();

describe('timeWindowMetrics', () => {
  it('puts an event exactly on a boundary in the window that starts there and does not emit empty windows', () => {
    const events = [
      { timestamp: at(0), value: 1 },
      { timestamp: at(10) - 1, value: 3 },
      { timestamp: at(10), value: 5 },
      { timestamp: at(35), value: 10 },
    ];
    expect(timeWindowMetrics(events, { windowMinutes: 10, valueKey: 'value' })).toEqual([
      { start: iso(0), end: iso(10), count: 2, sum: 4, mean: 2, min: 1, max: 3, stddev: 1 },
      { start: iso(10), end: iso(20), count: 1, sum: 5, mean: 5, min: 5, max: 5, stddev: 0 },
      { start: iso(30), end: iso(40), count: 1, sum: 10, mean: 10, min: 10, max: 10, stddev: 0 },
    ]);
  });

  it('hopping windows: an event belongs to every window with start ≤ t < end', () => {
    const events = [
      { timestamp: at(12), value: 2 },
      { timestamp: at(10), value: 4 },
      { timestamp: at(7), value: 6 },
    ];
    expect(timeWindowMetrics(events, { windowMinutes: 10, slideMinutes: 5, valueKey: 'value' })).toEqual([
      { start: iso(0), end: iso(10), count: 1, sum: 6, mean: 6, min: 6, max: 6, stddev: 0 },
      { start: iso(5), end: iso(15), count: 3, sum: 12, mean: 4, min: 2, max: 6, stddev: Math.sqrt(8 / 3) },
      { start: iso(10), end: iso(20), count: 2, sum: 6, mean: 3, min: 2, max: 4, stddev: 1 },
    ]);
  });

  it('aligns windows to the epoch in UTC, whatever the timestamp offset', () => {
    const rows = timeWindowMetrics([{ timestamp: '2024-05-01T01:30:00+02:00', value: 1 }], { windowMinutes: 60, valueKey: 'value' });
    expect(rows.map((r) => [r.start, r.end])).toEqual([['2024-04-30T23:00:00.000Z', '2024-05-01T00:00:00.000Z']]);
    const before1970 = timeWindowMetrics([{ timestamp: -1, value: 1 }], { windowMinutes: 1, valueKey: 'value' });
    expect(before1970.map((r) => [r.start, r.end])).toEqual([['1969-12-31T23:59:00.000Z', '1970-01-01T00:00:00.000Z']]);
  });

  it('groups within windows (top level, then payload; absent group is null), sorted by start then group', () => {
    const events = [
      { timestamp: at(1), value: 1, region: 'eu' },
      { timestamp: at(2), payload: { value: 3, region: 'eu' } },
      { timestamp: at(3), value: 7, payload: { region: 'us' } },
      { timestamp: at(4), value: 2 },
      { timestamp: at(11), value: 4, region: 'eu' },
      { timestamp: at(12), region: 'us' },
    ];
    expect(timeWindowMetrics(events, { windowMinutes: 10, valueKey: 'value', groupKey: 'region' })).toEqual([
      { start: iso(0), end: iso(10), group: null, count: 1, sum: 2, mean: 2, min: 2, max: 2, stddev: 0 },
      { start: iso(0), end: iso(10), group: 'eu', count: 2, sum: 4, mean: 2, min: 1, max: 3, stddev: 1 },
      { start: iso(0), end: iso(10), group: 'us', count: 1, sum: 7, mean: 7, min: 7, max: 7, stddev: 0 },
      { start: iso(10), end: iso(20), group: 'eu', count: 1, sum: 4, mean: 4, min: 4, max: 4, stddev: 0 },
    ]);
  });

  it('rejects bad options with the field name', () => {
    expect(() => timeWindowMetrics([], { windowMinutes: 0, valueKey: 'value' })).toThrow('windowMinutes must be a positive finite number, got 0');
    expect(() => timeWindowMetrics([], { windowMinutes: 5, slideMinutes: 10, valueKey: 'value' })).toThrow('slideMinutes must be less than or equal to windowMinutes (5), got 10');
    expect(() => timeWindowMetrics([{ timestamp: 0, value: true }], { windowMinutes: 5, valueKey: 'value' })).toThrow('events[0].value must be a finite number, got true');
  });

  it('partial merge leaves the argument unchanged and refuses partials with other options', () => {
    const a = WindowMetricsPartial.create({ windowMinutes: 10 });
    const b = WindowMetricsPartial.create({ windowMinutes: 10 });
    b.record([{ timestamp: at(1), value: 1 }]);
    const before = JSON.stringify(b.serialize());
    a.merge(b);
    a.merge(b);
    expect(JSON.stringify(b.serialize())).toBe(before);
    expect(a.result()).toEqual([{ start: iso(0), end: iso(10), count: 2, sum: 2, mean: 1, min: 1, max: 1, stddev: 0 }]);
    expect(() => a.merge(WindowMetricsPartial.create({ windowMinutes: 5 }))).toThrow(
      'partial options differ between merged window partials: [600000,600000,"value",null] vs [300000,300000,"value",null]',
    );
  });
});

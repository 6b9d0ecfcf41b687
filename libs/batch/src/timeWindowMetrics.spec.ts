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

describe('timeWindowMetrics against a brute-force reference', () => {
  it.each([
    [10, undefined],
    [10, 4],
    [7, 7],
    [15, 1],
  ])('window %p min, slide %p min, grouped, interleaved groups out of time order', (windowMinutes, slideMinutes) => {
    let s = 99;
    const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const events = Array.from({ length: 400 }, () => ({ timestamp: at(Math.floor(rand() * 120 * 60) / 60) - 60_000 * 30, value: Math.floor(rand() * 21) - 10, g: ['x', 'y', 'z'][Math.floor(rand() * 3)] }));
    const W = windowMinutes * 60_000;
    const S = (slideMinutes ?? windowMinutes) * 60_000;
    const buckets = new Map<string, number[]>();
    for (const e of events) {
      for (let start = Math.floor((e.timestamp - W) / S) * S; start <= e.timestamp; start += S) {
        if (start <= e.timestamp && e.timestamp < start + W) {
          const k = `${start}|${e.g}`;
          buckets.set(k, [...(buckets.get(k) ?? []), e.value]);
        }
      }
    }
    const expected = [...buckets.entries()]
      .map(([k, xs]) => {
        const [start, g] = k.split('|');
        const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
        return { start: Number(start), g, count: xs.length, sum: xs.reduce((a, b) => a + b, 0), mean, min: Math.min(...xs), max: Math.max(...xs), stddev: Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length) };
      })
      .sort((a, b) => a.start - b.start || (a.g < b.g ? -1 : 1));
    const actual = timeWindowMetrics(events, { windowMinutes, slideMinutes, valueKey: 'value', groupKey: 'g' });
    expect(actual.map((r) => [r.start, r.end, r.group, r.count, r.sum, r.min, r.max])).toEqual(
      expected.map((r) => [new Date(r.start).toISOString(), new Date(r.start + W).toISOString(), r.g, r.count, r.sum, r.min, r.max]),
    );
    actual.forEach((r, i) => {
      expect(r.mean).toBeCloseTo(expected[i].mean, 12);
      expect(r.stddev).toBeCloseTo(expected[i].stddev, 12);
    });
  });
});

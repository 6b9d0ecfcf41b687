import { seededRandom } from '@pipeline/testing';
import { DeserializationError, IncompatibleMergeError, InvalidArgumentError } from './errors';
import type { TopKItem } from './SpaceSaving';
import { WindowedTopK } from './WindowedTopK';

const T0 = Date.UTC(2026, 10, 27, 0, 0, 0); // a multiple of 30 s: sub-windows start here
const MIN = 60_000;

interface Event {
  item: string;
  t: number;
}

/** `n` events over `spanMs` from T0 in time order; item i with probability ∝ 1/(i+1) among `distinct`. */
function zipfEvents(n: number, distinct: number, spanMs: number, seed: number): Event[] {
  const rand = seededRandom(seed);
  const cdf: number[] = [];
  let acc = 0;
  const total = Array.from({ length: distinct }, (_, i) => 1 / (i + 1)).reduce((a, b) => a + b, 0);
  for (let i = 0; i < distinct; i++) cdf.push((acc += 1 / (i + 1) / total));
  return Array.from({ length: n }, (_, k) => {
    const u = rand();
    let lo = 0;
    let hi = distinct - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return { item: `item-${lo}`, t: T0 + Math.floor((k * spanMs) / n) };
  });
}

/**
 * The exact counts of the documented window at `nowMs`: the events of every 30 s sub-window that
 * overlaps (nowSec − 300, nowSec] and starts by nowSec.
 */
function exactWindowCounts(events: Event[], nowMs: number): Map<string, number> {
  const nowSec = Math.floor(nowMs / 1000);
  const counts = new Map<string, number>();
  for (const { item, t } of events) {
    const first = Math.floor(Math.floor(t / 1000) / 30) * 30;
    if (first + 29 > nowSec - 300 && first <= nowSec) counts.set(item, (counts.get(item) ?? 0) + 1);
  }
  return counts;
}

/** Sorted as the summary sorts: count descending, then item name. */
function exactTop(counts: Map<string, number>): TopKItem[] {
  return [...counts]
    .map(([item, count]) => ({ item, count, error: 0 }))
    .sort((a, b) => b.count - a.count || (a.item < b.item ? -1 : 1));
}

/** Every reported item obeys count − error ≤ true ≤ count and error ≤ N/m; every item heavier than N/m is listed. */
function expectBounds(topK: WindowedTopK, nowMs: number, truth: Map<string, number>): void {
  const n = [...truth.values()].reduce((a, b) => a + b, 0);
  expect(topK.total(nowMs)).toBe(n);
  const reported = topK.result(nowMs);
  const violations: string[] = [];
  for (const { item, count, error } of reported) {
    const t = truth.get(item) ?? 0;
    if (!(count - error <= t && t <= count)) violations.push(`${item}: ${count - error} ≤ ${t} ≤ ${count}`);
    if (error > n / topK.capacity) violations.push(`${item}: error ${error} > N/m = ${n / topK.capacity}`);
  }
  const listed = new Set(reported.map((e) => e.item));
  for (const [item, t] of truth) if (t > n / topK.capacity && !listed.has(item)) violations.push(`${item} (${t}) missing`);
  // maxOvercount: the largest error of the whole window summary, whatever k, bounding every listed over-count.
  const { items, maxOvercount } = topK.topWithOvercount(3, nowMs);
  if (maxOvercount !== Math.max(0, ...reported.map((e) => e.error))) violations.push(`maxOvercount ${maxOvercount} is not the largest error`);
  if (maxOvercount > n / topK.capacity) violations.push(`maxOvercount ${maxOvercount} > N/m = ${n / topK.capacity}`);
  for (const { item, count } of items) if (count - (truth.get(item) ?? 0) > maxOvercount) violations.push(`${item}: over-count above ${maxOvercount}`);
  expect(violations).toEqual([]);
}

const feed = (topK: WindowedTopK, events: Event[]) => events.forEach((e) => topK.record(e.item, e.t));

describe('WindowedTopK', () => {
  it('lists the items of the window only: items recorded 25 minutes earlier are gone once the window has passed, items inside it are listed', () => {
    const topK = new WindowedTopK({ windowSeconds: 300 });
    for (let i = 0; i < 40; i++) topK.record('Timeout', T0 + i * 1000);
    topK.record('Refused', T0 + 1000, 3);
    expect(topK.top(10, T0 + 60_000)).toEqual([
      { item: 'Timeout', count: 40, error: 0 },
      { item: 'Refused', count: 3, error: 0 },
    ]);
    const now = T0 + 25 * MIN;
    topK.record('Refused', now - 4 * MIN);
    topK.record('Reset', now - 10_000, 2);
    topK.record('Refused', now);
    expect(topK.top(10, now)).toEqual([
      { item: 'Refused', count: 2, error: 0 },
      { item: 'Reset', count: 2, error: 0 },
    ]);
    expect(topK.total(now)).toBe(4);
    const listed = topK.top(10, now);
    topK.expire(now);
    expect(topK.top(10, now)).toEqual(listed); // expiry frees only what left the window
    expect(topK.top(10, now + 330_000)).toEqual([]);
    topK.expire(now + 330_000);
    expect(topK.isEmpty).toBe(true);
  });

  it('covers whole 30 s sub-windows: the window is 300–329 s of data, and a sub-window that has not begun is not counted', () => {
    const topK = new WindowedTopK({ windowSeconds: 300, subWindows: 10 });
    topK.record('a', T0 + 15_000); // sub-window [T0, T0 + 30 s)
    topK.record('b', T0 + 329_000); // sub-window [T0 + 300 s, T0 + 330 s)
    expect(topK.top(5, T0 + 299_999)).toEqual([{ item: 'a', count: 1, error: 0 }]); // b's sub-window has not begun
    expect(topK.top(5, T0 + 328_999)).toEqual([{ item: 'a', count: 1, error: 0 }, { item: 'b', count: 1, error: 0 }]); // (28 s, 328 s] still touches [0, 30)
    expect(topK.top(5, T0 + 329_000)).toEqual([{ item: 'b', count: 1, error: 0 }]);
  });

  it('refuses events of a sub-window that has left the ring, and reports them as not recorded', () => {
    const topK = new WindowedTopK({ windowSeconds: 300, subWindows: 10 }); // 11 slots of 30 s
    expect(topK.record('new', T0 + 330_000)).toBe(true);
    expect(topK.record('old', T0 + 29_999)).toBe(false); // sub-window 0 ≤ 11 − 11
    expect(topK.record('kept', T0 + 30_000)).toBe(true);
    expect(topK.result(T0 + 330_000)).toEqual([{ item: 'kept', count: 1, error: 0 }, { item: 'new', count: 1, error: 0 }]);
  });

  describe('merge', () => {
    const NOW = T0 + 10 * MIN - 1;

    it('of a 10-minute stream split over 5 summaries (one empty, one with a single event) equals one exact pass over the window while the items fit', () => {
      const events = zipfEvents(6000, 40, 10 * MIN, 1);
      const parts = [0, 1, 2, 3, 4].map(() => new WindowedTopK({ capacity: 50 }));
      events.forEach((e, i) => (i === 5 ? parts[3]! : parts[i % 3]!).record(e.item, e.t)); // parts[4] stays empty
      const merged = new WindowedTopK({ capacity: 50 });
      parts.forEach((p) => merged.merge(p));
      const truth = exactWindowCounts(events, NOW);
      expect(merged.result(NOW)).toEqual(exactTop(truth));
      expect(merged.total(NOW)).toBe(truth.size === 0 ? 0 : [...truth.values()].reduce((a, b) => a + b, 0));
      const single = new WindowedTopK({ capacity: 50 });
      feed(single, events);
      expect(merged.result(NOW)).toEqual(single.result(NOW));
      // Associativity: (p0 + p1) + (p2 + p3 + p4) answers the same.
      const left = new WindowedTopK({ capacity: 50 });
      [parts[0]!, parts[1]!].forEach((p) => left.merge(p));
      const right = new WindowedTopK({ capacity: 50 });
      [parts[2]!, parts[3]!, parts[4]!].forEach((p) => right.merge(p));
      left.merge(right);
      expect(left.result(NOW)).toEqual(merged.result(NOW));
    });

    it('keeps count − error ≤ true count ≤ count and error ≤ N/m over the window when 2,000 distinct items overflow the summaries', () => {
      const events = zipfEvents(60_000, 2000, 10 * MIN, 2);
      const parts = [0, 1, 2, 3].map(() => new WindowedTopK({ capacity: 40 }));
      events.forEach((e, i) => parts[(i * 7) % 3]!.record(e.item, e.t)); // parts[3] stays empty
      const merged = new WindowedTopK({ capacity: 40 });
      parts.forEach((p) => merged.merge(p));
      const truth = exactWindowCounts(events, NOW);
      expectBounds(merged, NOW, truth);
      const reversed = new WindowedTopK({ capacity: 40 });
      [...parts].reverse().forEach((p) => reversed.merge(p));
      expectBounds(reversed, NOW, truth);
      expect(reversed.top(3, NOW).map((e) => e.item)).toEqual(['item-0', 'item-1', 'item-2']);
      const single = new WindowedTopK({ capacity: 40 });
      feed(single, events);
      expectBounds(single, NOW, truth);
      // Earlier in the stream, too (the window then covers other sub-windows).
      const upTo6 = events.filter((e) => e.t <= T0 + 6 * MIN);
      const early = [0, 1].map(() => new WindowedTopK({ capacity: 40 }));
      upTo6.forEach((e, i) => early[i % 2]!.record(e.item, e.t));
      early[0]!.merge(early[1]!);
      expectBounds(early[0]!, T0 + 6 * MIN, exactWindowCounts(upTo6, T0 + 6 * MIN));
    });

    it('leaves its argument unchanged, ignores empty summaries, and drops sub-windows that leave the merged ring', () => {
      const a = new WindowedTopK();
      const b = new WindowedTopK();
      a.record('old', T0);
      b.record('x', T0 + 20 * MIN);
      b.record('y', T0 + 20 * MIN - 1000);
      const before = b.serialize();
      a.merge(b);
      a.merge(new WindowedTopK());
      expect(b.serialize()).toEqual(before);
      expect(a.result(T0 + 20 * MIN)).toEqual(b.result(T0 + 20 * MIN));
      expect(a.serialize()).toEqual(b.serialize()); // 'old' left the ring of the newest sub-window
    });

    it('refuses summaries of other settings', () => {
      expect(() => new WindowedTopK({ windowSeconds: 300 }).merge(new WindowedTopK({ windowSeconds: 60 }))).toThrow(
        new IncompatibleMergeError('cannot merge a WindowedTopK of 60 s / 10 sub-windows / capacity 100 into one of 300 s / 10 / 100'),
      );
    });
  });

  it('round-trips through serialization, including summaries past their capacity', () => {
    const topK = new WindowedTopK({ capacity: 20 });
    feed(topK, zipfEvents(5000, 500, 7 * MIN, 3));
    const copy = WindowedTopK.deserialize(topK.serialize());
    const now = T0 + 7 * MIN;
    expect(copy.result(now)).toEqual(topK.result(now));
    expect(copy.total(now)).toBe(topK.total(now));
    expect(copy.serialize()).toEqual(topK.serialize());
    copy.record('item-0', now - 1000);
    expect(copy.top(1, now)[0]).toEqual({ ...topK.top(1, now)[0]!, count: topK.top(1, now)[0]!.count + 1 });
  });

  it('rejects bad options and unreadable snapshots with the field or the reason', () => {
    expect(() => new WindowedTopK({ capacity: 0 })).toThrow(new InvalidArgumentError('capacity must be a positive integer, got 0'));
    expect(() => new WindowedTopK({ subWindows: 1.5 })).toThrow(new InvalidArgumentError('subWindows must be a positive integer, got 1.5'));
    expect(() => WindowedTopK.deserialize(Uint8Array.of(9))).toThrow(new DeserializationError('WindowedTopK snapshot version must be 1, got 9'));
    expect(() => new WindowedTopK().top(1, Number.NaN)).toThrow(new InvalidArgumentError('nowMs must be a finite number of epoch milliseconds, got NaN'));
  });
});

import { IncompatibleMergeError, InvalidArgumentError } from './errors';
import { SlidingWindow, type WindowStats } from './SlidingWindow';

const T0 = Date.UTC(2026, 10, 27, 0, 0, 0); // a whole second

/** Exact one-pass reference: population variance by the two-pass formula. */
function exactStats(values: number[]): WindowStats {
  if (values.length === 0) return { count: 0, sum: 0, mean: null, min: null, max: null, variance: null, stddev: null };
  const sum = values.reduce((a, b) => a + b, 0);
  const mean = sum / values.length;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
  return { count: values.length, sum, mean, min: Math.min(...values), max: Math.max(...values), variance, stddev: Math.sqrt(variance) };
}

/** Whole-value comparison with a relative tolerance for the floating-point fields. */
function expectStats(actual: WindowStats, expected: WindowStats): void {
  const rounded = (s: WindowStats) =>
    Object.fromEntries(Object.entries(s).map(([k, v]) => [k, typeof v === 'number' ? Number(v.toPrecision(10)) : v]));
  expect(rounded(actual)).toEqual(rounded(expected));
}

function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('SlidingWindow', () => {
  it('summarises the values of the window with population variance', () => {
    const w = SlidingWindow.create({ windowSeconds: 60 });
    [2, 4, 4, 4, 5, 5, 7, 9].forEach((v, i) => w.record(v, T0 + i * 1500));
    expect(w.result(T0 + 20_000)).toEqual({ count: 8, sum: 40, mean: 5, min: 2, max: 9, variance: 4, stddev: 2 });
  });

  it('reports an empty window as count 0, sum 0 and nulls', () => {
    expect(new SlidingWindow().result(T0)).toEqual({ count: 0, sum: 0, mean: null, min: null, max: null, variance: null, stddev: null });
  });

  it('covers (nowSec - window, nowSec]: an event leaves exactly when its second is a window old', () => {
    const w = new SlidingWindow({ windowSeconds: 10 });
    w.record(5, T0 + 999); // second T0/1000
    expect(w.result(T0 + 9_999).count).toBe(1); // nowSec = T0s + 9
    expect(w.result(T0 + 10_000).count).toBe(0); // nowSec = T0s + 10: bucket T0s ≤ nowSec - 10
    expect(w.result(T0 - 1).count).toBe(0); // not yet: the event is in the future of nowMs
    expect(w.result(T0).count).toBe(1); // same second counts even if 999 ms later
  });

  it('expires buckets that left the window and reports how many', () => {
    const w = new SlidingWindow({ windowSeconds: 10 });
    for (let s = 0; s < 10; s++) w.record(s, T0 + s * 1000);
    expect(w.expire(T0 + 12_000)).toBe(3); // seconds 0,1,2 have left (nowSec - 10 = 2)
    expect([w.bucketCount, w.result(T0 + 12_000).min]).toEqual([7, 3]);
  });

  it('refuses events a full window older than the newest event, and keeps at most window buckets', () => {
    const w = new SlidingWindow({ windowSeconds: 5 });
    expect(w.record(1, T0 + 10_000)).toBe(true);
    expect(w.record(1, T0 + 6_000)).toBe(true); // second T0s+6 > T0s+10-5
    expect(w.record(1, T0 + 5_999)).toBe(false); // second T0s+5 ≤ T0s+10-5
    for (let s = 0; s < 100; s++) w.record(s, T0 + 20_000 + s * 1000);
    expect(w.bucketCount).toBe(5);
  });

  it('places out-of-order events in their own second', () => {
    const w = new SlidingWindow({ windowSeconds: 60 });
    for (const s of [10, 3, 7, 3, 1, 10, 5]) w.record(s, T0 + s * 1000 + 1);
    expect(w.bucketCount).toBe(5);
    expectStats(w.result(T0 + 10_500), exactStats([10, 3, 7, 3, 1, 10, 5]));
    expectStats(w.result(T0 + 4_000), exactStats([3, 3, 1]));
    expect(w.result(T0 + 60_000, 55)).toEqual(exactStats([10, 7, 10]));
  });

  it('keeps the variance of large values with small spread (no sum-of-squares cancellation)', () => {
    const w = new SlidingWindow({ windowSeconds: 60 });
    const values = Array.from({ length: 1000 }, (_, i) => 1e9 + (i % 5));
    values.forEach((v, i) => w.record(v, T0 + (i % 50) * 1000));
    const r = w.result(T0 + 50_000);
    expect(r.variance).toBeCloseTo(2, 6);
    expect(r.mean).toBeCloseTo(1e9 + 2, 4);
  });

  it('counts values over a shorter span for rates', () => {
    const w = new SlidingWindow({ windowSeconds: 300 });
    for (let s = 0; s < 300; s++) w.record(1, T0 + s * 1000);
    expect(w.countInLast(60, T0 + 299_000)).toBe(60);
    expect(() => w.result(T0, 301)).toThrow(new InvalidArgumentError('spanSeconds must be between 1 and 300, got 301'));
  });

  describe('merge', () => {
    const rand = random(3);
    const events = Array.from({ length: 5000 }, () => ({ v: (rand() - 0.5) * 200 * (rand() < 0.1 ? 0 : 1), t: T0 + Math.floor(rand() * 120_000) }));

    it('of data split over 4 windows (one empty) equals one exact pass', () => {
      const parts = [0, 1, 2, 3].map(() => new SlidingWindow({ windowSeconds: 60 }));
      events.forEach((e, i) => parts[i % 3].record(e.v, e.t));
      const merged = new SlidingWindow({ windowSeconds: 60 });
      parts.forEach((p) => merged.merge(p));
      const now = T0 + 119_000;
      const inWindow = events.filter((e) => Math.floor(e.t / 1000) > Math.floor(now / 1000) - 60).map((e) => e.v);
      expectStats(merged.result(now), exactStats(inWindow));
      expectStats(merged.result(now, 7), exactStats(events.filter((e) => Math.floor(e.t / 1000) > Math.floor(now / 1000) - 7).map((e) => e.v)));
    });

    it('is associative and commutative on results', () => {
      const mk = (from: number, to: number) => {
        const w = new SlidingWindow({ windowSeconds: 200 });
        events.slice(from, to).forEach((e) => w.record(e.v, e.t));
        return w;
      };
      const ab = mk(0, 100);
      ab.merge(mk(100, 2000));
      ab.merge(mk(2000, 5000));
      const bc = mk(100, 2000);
      bc.merge(mk(2000, 5000));
      const a = mk(0, 100);
      a.merge(bc);
      const c = mk(2000, 5000);
      c.merge(mk(0, 100));
      c.merge(mk(100, 2000));
      expectStats(ab.result(T0 + 120_000), a.result(T0 + 120_000));
      expectStats(ab.result(T0 + 120_000), c.result(T0 + 120_000));
      expectStats(ab.result(T0 + 120_000), exactStats(events.map((e) => e.v)));
    });

    it('leaves its argument unchanged and handles empty and single-element windows', () => {
      const one = new SlidingWindow({ windowSeconds: 60 });
      one.record(-3, T0);
      const before = one.serialize();
      const empty = new SlidingWindow({ windowSeconds: 60 });
      empty.merge(one);
      empty.merge(new SlidingWindow({ windowSeconds: 60 }));
      expect(one.serialize()).toEqual(before);
      expect(empty.result(T0)).toEqual({ count: 1, sum: -3, mean: -3, min: -3, max: -3, variance: 0, stddev: 0 });
    });

    it('drops buckets older than the merged newest second minus the window', () => {
      const a = new SlidingWindow({ windowSeconds: 10 });
      a.record(1, T0);
      const b = new SlidingWindow({ windowSeconds: 10 });
      b.record(2, T0 + 30_000);
      a.merge(b);
      expect(a.bucketCount).toBe(1);
    });

    it('rejects windows of a different length', () => {
      expect(() => new SlidingWindow({ windowSeconds: 10 }).merge(new SlidingWindow({ windowSeconds: 20 }))).toThrow(
        new IncompatibleMergeError('cannot merge a SlidingWindow of 20 s into one of 10 s'),
      );
    });
  });

  it('round-trips through serialization, single-value buckets in 8 bytes', () => {
    const w = new SlidingWindow({ windowSeconds: 300 });
    for (let s = 0; s < 300; s++) w.record(s - 150.5, T0 + s * 1000);
    w.record(7, T0 + 5_000);
    const bytes = w.serialize();
    const copy = SlidingWindow.deserialize(bytes);
    expect(copy.result(T0 + 299_000)).toEqual(w.result(T0 + 299_000));
    expect(copy.serialize()).toEqual(bytes);
    expect(bytes.length).toBeLessThan(300 * 10 + 40);
  });

  it('rejects bad input with the field name', () => {
    const w = new SlidingWindow();
    expect(() => w.record(Number.NaN, T0)).toThrow(new InvalidArgumentError('value must be a finite number, got NaN'));
    expect(() => w.record(1, Number.POSITIVE_INFINITY)).toThrow(
      new InvalidArgumentError('eventTimeMs must be a finite number of epoch milliseconds, got Infinity'),
    );
    expect(() => new SlidingWindow({ windowSeconds: 1.5 })).toThrow(new InvalidArgumentError('windowSeconds must be a positive integer, got 1.5'));
  });
});

import { seededRandom } from '@pipeline/testing';
import { ByteReader } from './ByteReader';
import { ByteWriter } from './ByteWriter';
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
    const rand = seededRandom(3);
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

  describe('tiers: the newest fineSeconds in 1 s buckets, older data in coarseSeconds blocks', () => {
    const TIERS = { windowSeconds: 300, fineSeconds: 60, coarseSeconds: 5 };
    const rand = seededRandom(11);
    // 20 values a second over 400 s (so buckets expire too), some seconds empty, plus out-of-order ones.
    const events: Array<{ v: number; t: number }> = [];
    for (let s = 0; s < 400; s++) {
      if (s % 37 === 0) continue;
      for (let j = 0; j < 20; j++) events.push({ v: Math.exp(rand() * 6) - 50, t: T0 + s * 1000 + Math.floor(rand() * 1000) });
      if (s > 100 && s % 13 === 0) events.push({ v: rand() * 1e6, t: T0 + (s - 50 - Math.floor(rand() * 200)) * 1000 + 1 });
    }
    /** What the window must cover at `nowSec` with blocks: every value whose block ends inside the window. */
    const covered = (all: typeof events, nowSec: number, span: number) => {
      const lo = nowSec - span;
      return all
        .filter((e) => {
          const sec = Math.floor(e.t / 1000);
          if (sec > nowSec) return false;
          if (sec > lo) return true;
          const blockLast = sec - (((sec % 5) + 5) % 5) + 4;
          return sec <= nowSec - 60 && blockLast > lo; // only data behind the fine part is in blocks
        })
        .map((e) => e.v);
    };
    const feed = (w: SlidingWindow, es: typeof events) => es.forEach((e) => w.record(e.v, e.t));
    const last = T0 + 399_000;

    it('gives exact stats over whole blocks at the far end and 1 s precision for the newest 60 s', () => {
      const w = new SlidingWindow(TIERS);
      feed(w, events);
      const accepted = events.filter((e) => Math.floor(e.t / 1000) > Math.floor(last / 1000) - 300 - 4);
      expectStats(w.result(last), exactStats(covered(accepted, Math.floor(last / 1000), 300)));
      // Inside the fine part a span is exact to the second (rates use 60 s).
      expect(w.countInLast(60, last)).toBe(events.filter((e) => Math.floor(e.t / 1000) > Math.floor(last / 1000) - 60).length);
      expectStats(w.result(last, 17), exactStats(events.filter((e) => Math.floor(e.t / 1000) > Math.floor(last / 1000) - 17).map((e) => e.v)));
    });

    it('holds at most fineSeconds + blocks + 2 buckets: 110 instead of 300', () => {
      const w = new SlidingWindow(TIERS);
      feed(w, events);
      expect(w.bucketCount).toBeLessThanOrEqual(60 + 48 + 2);
      expect(w.bucketCount).toBeGreaterThan(100);
    });

    it('drops a block only when its last second leaves the window', () => {
      const w = new SlidingWindow({ windowSeconds: 20, fineSeconds: 5, coarseSeconds: 5 });
      const s0 = Math.floor(T0 / 1000); // a multiple of 5
      for (let s = 0; s < 25; s++) w.record(1, (s0 + s) * 1000);
      // Newest second s0+24: window (s0+4, s0+24]; the block [s0, s0+5) ends at s0+4, so it has left.
      expect(w.result((s0 + 24) * 1000).count).toBe(20);
      w.record(1, (s0 + 25) * 1000); // window (s0+5, s0+25]: block [s0+5, s0+10) keeps s0+5 in
      expect(w.result((s0 + 25) * 1000).count).toBe(21);
      expect(w.expire((s0 + 30) * 1000)).toBe(1); // window (s0+10, s0+30]: block [s0+5, s0+10) leaves whole
      expect(w.result((s0 + 30) * 1000).count).toBe(16);
    });

    it('merges exactly whatever each part has already folded into blocks, in any order', () => {
      const parts = [0, 1, 2].map(() => new SlidingWindow(TIERS));
      events.forEach((e, i) => parts[(i * 7) % 3].record(e.v, e.t));
      parts[1].expire(last - 30_000); // one part coalesced less far (its newest is older)
      const one = new SlidingWindow(TIERS);
      feed(one, events);
      const m1 = new SlidingWindow(TIERS);
      parts.forEach((p) => m1.merge(p));
      const m2 = new SlidingWindow(TIERS);
      [...parts].reverse().forEach((p) => m2.merge(p));
      expectStats(m1.result(last), one.result(last));
      expectStats(m2.result(last), one.result(last));
      expect(m1.bucketCount).toBe(one.bucketCount);
      expect(() => m1.merge(new SlidingWindow({ windowSeconds: 300 }))).toThrow(IncompatibleMergeError);
    });

    it('round-trips through serialization, and reads version-1 bytes by forming their blocks', () => {
      const w = new SlidingWindow(TIERS);
      feed(w, events);
      const copy = SlidingWindow.deserialize(w.serialize());
      expect([copy.fineSeconds, copy.coarseSeconds, copy.bucketCount]).toEqual([60, 5, w.bucketCount]);
      expect(copy.result(last)).toEqual(w.result(last));
      // A version-1 window (1 s buckets only) written by an older release, read with tiers.
      const flat = new SlidingWindow({ windowSeconds: 300 });
      feed(flat, events);
      const body = new ByteWriter();
      flat.writeTo(body);
      const v2 = new ByteReader(body.finish());
      const legacy = new ByteWriter(); // v1 layout: the same without the two tier fields
      legacy.varUint(v2.varUint());
      v2.varUint();
      v2.varUint();
      while (!v2.done) legacy.u8(v2.u8());
      const bytes = legacy.finish();
      expect(SlidingWindow.deserialize(Uint8Array.of(1, ...bytes)).result(last)).toEqual(flat.result(last));
      const upgraded = SlidingWindow.readFrom(new ByteReader(bytes), { fineSeconds: 60, coarseSeconds: 5 });
      expectStats(upgraded.result(last), one(events).result(last));
      expect(upgraded.bucketCount).toBe(one(events).bucketCount);
      function one(es: typeof events) {
        const x = new SlidingWindow(TIERS);
        feed(x, es);
        return x;
      }
    });

    it('rejects tiers outside the window with the field name', () => {
      expect(() => new SlidingWindow({ windowSeconds: 60, fineSeconds: 61 })).toThrow(new InvalidArgumentError('fineSeconds must be an integer from 1 to windowSeconds (60), got 61'));
      expect(() => new SlidingWindow({ windowSeconds: 60, coarseSeconds: 0 })).toThrow(new InvalidArgumentError('coarseSeconds must be an integer from 1 to windowSeconds (60), got 0'));
    });
  });

  it('rejects bad input with the field name', () => {
    const w = new SlidingWindow();
    expect(() => w.record(Number.NaN, T0)).toThrow(new InvalidArgumentError('value must be a finite number, got NaN'));
    expect(() => w.record(1, Number.POSITIVE_INFINITY)).toThrow(
      new InvalidArgumentError('eventTimeMs must be a finite number of epoch milliseconds, got Infinity'),
    );
    expect(() => new SlidingWindow({ windowSeconds: 1.5 })).toThrow(new InvalidArgumentError('windowSeconds must be a positive integer, got 1.5'));
  });

  it('lists the 1 s buckets of its newest seconds (recentCounts) whose sums are countInLast at or after the newest second', () => {
    const rand = seededRandom(5);
    const w = new SlidingWindow({ windowSeconds: 120, fineSeconds: 30, coarseSeconds: 5 });
    const t0 = Date.UTC(2026, 11, 7);
    for (let i = 0; i < 2000; i++) w.record(rand(), t0 + Math.floor(rand() * 200_000));
    const pairs = w.recentCounts(30);
    const newest = w.newestSecond!;
    expect(pairs[pairs.length - 2]).toBe(newest);
    expect(pairs[0]).toBeGreaterThan(newest - 30);
    for (let ahead = 0; ahead <= 31; ahead++) {
      const nowSec = newest + ahead;
      for (const span of [1, 10, 30]) {
        let sum = 0;
        for (let i = 0; i < pairs.length; i += 2) if (pairs[i]! > nowSec - span) sum += pairs[i + 1]!;
        expect(sum).toBe(w.countInLast(span, nowSec * 1000 + 999));
      }
    }
    expect(new SlidingWindow().recentCounts(5)).toEqual([]);
    expect(() => w.recentCounts(31)).toThrow('spanSeconds must be an integer from 1 to 30, got 31');
  });
});

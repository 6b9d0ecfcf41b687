import { seededRandom } from '@pipeline/testing';
import { InvalidArgumentError } from './errors';
import { SpaceSaving, type TopKItem } from './SpaceSaving';

/** A Zipf-like stream over 2,000 items: item i with probability ∝ 1/(i+1). */
function zipfStream(n: number, seed: number): string[] {
  const rand = seededRandom(seed);
  const weights = Array.from({ length: 2000 }, (_, i) => 1 / (i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const cdf: number[] = [];
  weights.reduce((acc, w, i) => (cdf[i] = acc + w / total), 0);
  return Array.from({ length: n }, () => {
    const u = rand();
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return `item-${lo}`;
  });
}

function exactCounts(stream: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of stream) m.set(s, (m.get(s) ?? 0) + 1);
  return m;
}

/** Every reported item obeys count - error ≤ true ≤ count and error ≤ N/m; heavy items are present. */
function expectBounds(summary: SpaceSaving, truth: Map<string, number>, n: number): void {
  const violations: string[] = [];
  for (const { item, count, error } of summary.result()) {
    const t = truth.get(item) ?? 0;
    if (!(count - error <= t && t <= count)) violations.push(`${item}: ${count - error} ≤ ${t} ≤ ${count}`);
    if (error > n / summary.capacity) violations.push(`${item}: error ${error} > N/m`);
  }
  const monitored = new Set(summary.result().map((e) => e.item));
  for (const [item, t] of truth) if (t > n / summary.capacity && !monitored.has(item)) violations.push(`${item} (${t}) missing`);
  expect(violations).toEqual([]);
}

describe('SpaceSaving', () => {
  it('is exact while the distinct items fit, ordering by count then name', () => {
    const s = SpaceSaving.create({ capacity: 5 });
    for (const x of ['b', 'a', 'c', 'a', 'b', 'a', 'd']) s.record(x);
    s.record('d', 2);
    const expected: TopKItem[] = [
      { item: 'a', count: 3, error: 0 },
      { item: 'd', count: 3, error: 0 },
      { item: 'b', count: 2, error: 0 },
    ];
    expect(s.top(3)).toEqual(expected);
    expect(s.total).toBe(9);
  });

  it('replaces the minimum, which passes its count on as the newcomer error', () => {
    const s = new SpaceSaving({ capacity: 2 });
    expect(s.maxError()).toBe(0);
    for (const x of ['a', 'a', 'a', 'b', 'c']) s.record(x);
    expect(s.result()).toEqual([
      { item: 'a', count: 3, error: 0 },
      { item: 'c', count: 2, error: 1 },
    ]);
    expect(s.maxError()).toBe(1); // the largest error of any monitored item, listed by top(1) or not
    s.record('d'); // replaces c (count 2): d counts 3 with error 2, listed after a (ties by name)
    expect([s.result(), s.maxError()]).toEqual([[{ item: 'a', count: 3, error: 0 }, { item: 'd', count: 3, error: 2 }], 2]);
    expect(s.top(1)).toEqual([{ item: 'a', count: 3, error: 0 }]); // maxError covers d too, not only the k listed
  });

  it('keeps count - error ≤ true ≤ count on a skewed stream of 2,000 distinct items', () => {
    const stream = zipfStream(50_000, 1);
    const s = new SpaceSaving({ capacity: 50 });
    stream.forEach((x) => s.record(x));
    expectBounds(s, exactCounts(stream), stream.length);
    expect(s.top(3).map((e) => e.item)).toEqual(['item-0', 'item-1', 'item-2']);
  });

  describe('merge', () => {
    it('of a stream split over 4 summaries (one empty) keeps the bounds of the whole stream', () => {
      const stream = zipfStream(40_000, 2);
      const parts = [0, 1, 2, 3].map(() => new SpaceSaving({ capacity: 50 }));
      stream.forEach((x, i) => parts[(i * 7) % 3].record(x));
      const merged = new SpaceSaving({ capacity: 50 });
      parts.forEach((p) => merged.merge(p));
      expect(merged.total).toBe(stream.length);
      expectBounds(merged, exactCounts(stream), stream.length);
      // Associativity in the bound sense: another merge order keeps the same guarantees.
      const other = new SpaceSaving({ capacity: 50 });
      [...parts].reverse().forEach((p) => other.merge(p));
      expectBounds(other, exactCounts(stream), stream.length);
      expect(other.top(5).map((e) => e.item)).toEqual(merged.top(5).map((e) => e.item));
    });

    it('is exact when the union fits in the capacity', () => {
      const a = new SpaceSaving({ capacity: 10 });
      const b = new SpaceSaving({ capacity: 10 });
      ['x', 'y', 'x'].forEach((v) => a.record(v));
      ['y', 'z'].forEach((v) => b.record(v));
      a.merge(b);
      expect(a.result()).toEqual([
        { item: 'x', count: 2, error: 0 },
        { item: 'y', count: 2, error: 0 },
        { item: 'z', count: 1, error: 0 },
      ]);
    });

    it('leaves its argument unchanged and ignores empty summaries', () => {
      const a = new SpaceSaving({ capacity: 3 });
      const b = new SpaceSaving({ capacity: 3 });
      ['p', 'q', 'r', 's', 'p'].forEach((v) => b.record(v));
      const before = b.serialize();
      a.merge(b);
      a.merge(new SpaceSaving({ capacity: 3 }));
      expect(b.serialize()).toEqual(before);
      expect(a.result()).toEqual(b.result());
    });
  });

  it('round-trips through serialization', () => {
    const s = new SpaceSaving({ capacity: 20 });
    zipfStream(5000, 3).forEach((x) => s.record(x));
    const copy = SpaceSaving.deserialize(s.serialize());
    expect(copy.result()).toEqual(s.result());
    expect(copy.total).toBe(5000);
    copy.record('item-0');
    expect(copy.top(1)[0]).toEqual({ ...s.top(1)[0], count: s.top(1)[0].count + 1 });
  });

  it('rejects non-integer weights and capacities', () => {
    expect(() => new SpaceSaving().record('a', 1.5)).toThrow(new InvalidArgumentError('weight must be a positive integer, got 1.5'));
    expect(() => new SpaceSaving({ capacity: 0 })).toThrow(new InvalidArgumentError('capacity must be a positive integer, got 0'));
  });
});

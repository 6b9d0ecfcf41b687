import { seededRandom } from '@pipeline/testing';
import { DDSketch } from './DDSketch';
import { DeserializationError, IncompatibleMergeError, InvalidArgumentError } from './errors';

function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** The sketch's documented definition: the lower rank-based quantile x[floor(q(n-1))]. */
function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))];
}

const QS = [0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];

function expectWithinRelativeError(sketch: DDSketch, values: number[], alpha: number): void {
  const sorted = [...values].sort((a, b) => a - b);
  const failures: string[] = [];
  for (const q of QS) {
    const exact = exactQuantile(sorted, q);
    const est = sketch.quantile(q)!;
    if (Math.abs(est - exact) > alpha * Math.abs(exact) * (1 + 1e-12)) failures.push(`q=${q}: exact ${exact}, sketch ${est}`);
  }
  expect(failures).toEqual([]);
}

function sketchOf(values: number[], options = {}): DDSketch {
  const s = new DDSketch(options);
  for (const v of values) s.add(v);
  return s;
}

const rand = seededRandom(42);
const N = 20_000;
const DATASETS: Record<string, number[]> = {
  uniform: Array.from({ length: N }, () => rand() * 1000),
  normal: Array.from({ length: N }, () => 100 + 15 * normal(rand)),
  'standard normal (mixed signs)': Array.from({ length: N }, () => normal(rand)),
  lognormal: Array.from({ length: N }, () => Math.exp(3 + 1.5 * normal(rand))),
  bimodal: Array.from({ length: N }, () => (rand() < 0.7 ? 20 + 2 * normal(rand) : 900 + 50 * normal(rand))),
  'negative only': Array.from({ length: N }, () => -Math.exp(2 + normal(rand))),
  'with zeros and negatives': Array.from({ length: N }, () => (rand() < 0.3 ? 0 : (rand() < 0.5 ? -1 : 1) * rand() * 50)),
  constant: Array.from({ length: 1000 }, () => 42.5),
  'constant negative': Array.from({ length: 1000 }, () => -7),
  'all zeros': Array.from({ length: 100 }, () => 0),
  'one element': [3.25],
  'tiny and huge magnitudes': Array.from({ length: N }, () => Math.exp(40 * (rand() - 0.5))),
};

describe('DDSketch', () => {
  describe.each([0.01, 0.05])('relative accuracy %p', (alpha) => {
    it.each(Object.keys(DATASETS))('estimates every quantile of %s within the relative accuracy', (name) => {
      expectWithinRelativeError(sketchOf(DATASETS[name], { relativeAccuracy: alpha }), DATASETS[name], alpha);
    });
  });

  it('returns constants exactly (clamped to min = max)', () => {
    expect(sketchOf(DATASETS.constant).result()).toEqual({ count: 1000, sum: 42500, min: 42.5, max: 42.5, p50: 42.5, p90: 42.5, p95: 42.5, p99: 42.5 });
  });

  it('reports an empty sketch as count 0 and nulls', () => {
    expect(new DDSketch().result()).toEqual({ count: 0, sum: 0, min: null, max: null, p50: null, p90: null, p95: null, p99: null });
  });

  it('uses the lower rank-based quantile: p50 of 1..10 estimates 5', () => {
    const s = sketchOf([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(Math.abs(s.quantile(0.5)! - 5)).toBeLessThanOrEqual(0.05);
    expect(s.quantile(0)).toBe(1);
    expect(s.quantile(1)).toBe(10);
  });

  describe('merge', () => {
    it.each(Object.keys(DATASETS))('of %s split over 5 sketches (one empty) equals one pass, bin for bin', (name) => {
      const values = DATASETS[name];
      const parts = [new DDSketch(), new DDSketch(), new DDSketch(), new DDSketch(), new DDSketch()];
      const r = seededRandom(7);
      values.forEach((v) => parts[Math.floor(r() * 4)].add(v)); // parts[4] stays empty
      const merged = new DDSketch();
      for (const p of parts) merged.merge(p);
      const single = sketchOf(values);
      expect(QS.map((q) => merged.quantile(q))).toEqual(QS.map((q) => single.quantile(q)));
      expect({ ...merged.result(), sum: 0 }).toEqual({ ...single.result(), sum: 0 });
      expect(Math.abs(merged.result().sum - single.result().sum)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(single.result().sum)));
      expectWithinRelativeError(merged, values, 0.01);
    });

    it('leaves its argument unchanged', () => {
      const a = sketchOf([1, 2, 3]);
      const b = sketchOf([-5, 0, 1e6]);
      const before = b.serialize();
      a.merge(b);
      expect(b.serialize()).toEqual(before);
      expect(a.count).toBe(6);
    });

    it('is associative and commutative on results', () => {
      const [x, y, z] = [DATASETS.lognormal.slice(0, 500), DATASETS['standard normal (mixed signs)'].slice(0, 500), DATASETS['all zeros']];
      const left = sketchOf(x);
      const ab = sketchOf(x);
      ab.merge(sketchOf(y));
      left.merge(sketchOf(y));
      left.merge(sketchOf(z));
      const right = sketchOf(y);
      right.merge(sketchOf(z));
      const right2 = sketchOf(x);
      right2.merge(right);
      const reversed = sketchOf(z);
      reversed.merge(sketchOf(y));
      reversed.merge(sketchOf(x));
      expect(QS.map((q) => left.quantile(q))).toEqual(QS.map((q) => right2.quantile(q)));
      expect(QS.map((q) => left.quantile(q))).toEqual(QS.map((q) => reversed.quantile(q)));
    });

    it('changes nothing when merging an empty sketch', () => {
      const a = sketchOf(DATASETS.bimodal.slice(0, 100));
      const before = a.serialize();
      a.merge(new DDSketch());
      expect(a.serialize()).toEqual(before);
    });

    it('rejects sketches of a different relative accuracy', () => {
      expect(() => new DDSketch({ relativeAccuracy: 0.01 }).merge(new DDSketch({ relativeAccuracy: 0.02 }))).toThrow(
        new IncompatibleMergeError('cannot merge a DDSketch with relativeAccuracy 0.02 into one with relativeAccuracy 0.01'),
      );
    });
  });

  describe('bounded bins', () => {
    it('collapses the lowest bins past maxBins: high quantiles stay accurate, low ones are over-estimated', () => {
      const values = Array.from({ length: 10_000 }, (_, i) => Math.exp(i / 200)); // 1 .. e^50, ~2,500 bins at 1%
      const s = sketchOf(values, { maxBins: 500 });
      const sorted = [...values].sort((a, b) => a - b);
      for (const q of [0.9, 0.95, 0.99, 1]) {
        expect(Math.abs(s.quantile(q)! - exactQuantile(sorted, q)) / exactQuantile(sorted, q)).toBeLessThanOrEqual(0.01);
      }
      expect(s.quantile(0.01)! / exactQuantile(sorted, 0.01)).toBeGreaterThan(1.5);
      const roundTrip = DDSketch.deserialize(s.serialize());
      expect(roundTrip.result()).toEqual(s.result());
      expect(s.serialize().length).toBeLessThan(500 * 3 + 64);
    });

    it('keeps the bin count bounded when merging sketches that collapsed', () => {
      const a = sketchOf(Array.from({ length: 1000 }, (_, i) => Math.exp(i / 20)), { maxBins: 100 });
      const b = sketchOf(Array.from({ length: 1000 }, (_, i) => Math.exp(-i / 20)), { maxBins: 100 });
      a.merge(b);
      expect(a.count).toBe(2000);
      expect(a.quantile(1)).toBe(Math.exp(999 / 20));
      expect(Math.abs(a.quantile(0.99)! / Math.exp(979 / 20) - 1)).toBeLessThanOrEqual(0.01);
    });
  });

  describe('serialization', () => {
    it.each(Object.keys(DATASETS))('round-trips %s to an equal sketch', (name) => {
      const s = sketchOf(DATASETS[name]);
      const copy = DDSketch.deserialize(s.serialize());
      expect(copy.result()).toEqual(s.result());
      expect(QS.map((q) => copy.quantile(q))).toEqual(QS.map((q) => s.quantile(q)));
      expect(copy.serialize()).toEqual(s.serialize());
    });

    it('round-trips an empty sketch with its options', () => {
      const copy = DDSketch.deserialize(new DDSketch({ relativeAccuracy: 0.02, maxBins: 64 }).serialize());
      expect([copy.relativeAccuracy, copy.maxBins, copy.count]).toEqual([0.02, 64, 0]);
    });

    it('is compact: 10,000 lognormal latencies fit in under 1 KB', () => {
      expect(sketchOf(DATASETS.lognormal.slice(0, 10_000)).serialize().length).toBeLessThan(1024);
    });

    it('rejects truncated and unknown-version snapshots', () => {
      const bytes = sketchOf([1, 2, 3]).serialize();
      expect(() => DDSketch.deserialize(bytes.subarray(0, 10))).toThrow(new DeserializationError('snapshot is truncated: needed 1 byte(s) at offset 10 of 10'));
      expect(() => DDSketch.deserialize(Uint8Array.of(9))).toThrow(new DeserializationError('DDSketch snapshot version must be 1, got 9'));
    });
  });

  it('rejects non-finite values, bad counts and bad options with the field name', () => {
    const s = new DDSketch();
    expect(() => s.add(Number.NaN)).toThrow(new InvalidArgumentError(`value must be a finite number with magnitude at most ${Number.MAX_VALUE / (1.01 / 0.99)}, got NaN`));
    expect(() => s.add(1, 0.5)).toThrow(new InvalidArgumentError('count must be a positive integer, got 0.5'));
    expect(() => s.quantile(1.5)).toThrow(new InvalidArgumentError('q must be a number between 0 and 1, got 1.5'));
    expect(() => new DDSketch({ relativeAccuracy: 1 })).toThrow(new InvalidArgumentError('relativeAccuracy must be a number between 0 and 1 (exclusive), got 1'));
    expect(() => new DDSketch({ maxBins: 0 })).toThrow(new InvalidArgumentError('maxBins must be a positive integer, got 0'));
  });

  it('counts weighted values', () => {
    const s = new DDSketch();
    s.add(10, 99);
    s.add(1000, 1);
    const { p50, p90, p95, p99, ...moments } = s.result();
    expect(moments).toEqual({ count: 100, sum: 1990, min: 10, max: 1000 });
    expect([p50, p90, p95, p99].map((p) => Math.abs(p! / 10 - 1) <= 0.01)).toEqual([true, true, true, true]);
    expect(s.quantile(1)).toBe(1000);
  });
});

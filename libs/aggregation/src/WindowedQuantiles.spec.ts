import { ByteReader } from './ByteReader';
import { ByteWriter } from './ByteWriter';
import { DDSketch } from './DDSketch';
import { IncompatibleMergeError, InvalidArgumentError } from './errors';
import { WindowedQuantiles } from './WindowedQuantiles';

const T0 = Date.UTC(2026, 10, 27, 0, 0, 0); // divisible by 30 s

function quantilesOf(values: number[]) {
  const s = new DDSketch();
  values.forEach((v) => s.add(v));
  return { p50: s.quantile(0.5), p90: s.quantile(0.9), p95: s.quantile(0.95), p99: s.quantile(0.99) };
}

describe('WindowedQuantiles', () => {
  it('covers the sub-windows overlapping (nowSec - window, nowSec]: up to one sub-window of older data', () => {
    const q = new WindowedQuantiles({ windowSeconds: 300, subWindows: 10 }); // 30 s sub-windows
    q.record(1, T0); // sub-window [T0, T0+30 s)
    q.record(2, T0 + 30_000);
    // At T0 + 300 s the window is seconds (0, 300]: sub-window 0 still overlaps second 1..29.
    expect(q.result(T0 + 300_000)).toEqual(quantilesOf([1, 2]));
    // At T0 + 329 s second 29 has left; sub-window 0 (seconds 0–29) no longer overlaps.
    expect(q.result(T0 + 329_000)).toEqual(quantilesOf([2]));
    expect(q.result(T0 + 400_000)).toEqual({ p50: null, p90: null, p95: null, p99: null });
  });

  it('reuses a ring slot for a newer sub-window and refuses values older than the ring', () => {
    const q = new WindowedQuantiles({ windowSeconds: 20, subWindows: 2 }); // 10 s sub-windows, 3 slots
    q.record(5, T0);
    q.record(7, T0 + 30_000); // same slot as T0: replaces it
    expect(q.record(9, T0 + 1_000)).toBe(false);
    expect(q.result(T0 + 30_000)).toEqual(quantilesOf([7]));
  });

  it('merges sub-window by sub-window, leaving the argument unchanged', () => {
    const a = new WindowedQuantiles({ windowSeconds: 60, subWindows: 6 });
    const b = new WindowedQuantiles({ windowSeconds: 60, subWindows: 6 });
    const all: number[] = [];
    for (let i = 0; i < 600; i++) {
      const v = ((i * 7919) % 1000) - 500;
      (i % 2 ? a : b).record(v, T0 + i * 100);
      all.push(v);
    }
    const w = new ByteWriter();
    b.writeContents(w);
    const before = w.finish();
    a.merge(b);
    const w2 = new ByteWriter();
    b.writeContents(w2);
    expect(w2.finish()).toEqual(before);
    expect(a.result(T0 + 59_999)).toEqual(quantilesOf(all));
    expect(() => a.merge(new WindowedQuantiles({ windowSeconds: 60, subWindows: 3 }))).toThrow(
      new IncompatibleMergeError('cannot merge WindowedQuantiles (60 s / 3, α 0.01) into (60 s / 6, α 0.01)'),
    );
  });

  it('round-trips its contents', () => {
    const q = new WindowedQuantiles({ windowSeconds: 300 });
    for (let i = 0; i < 3000; i++) q.record(Math.exp((i % 50) / 7) - 3, T0 + i * 100);
    const w = new ByteWriter();
    q.writeContents(w);
    const copy = WindowedQuantiles.readContents(new ByteReader(w.finish()), { windowSeconds: 300 });
    expect(copy.result(T0 + 299_000)).toEqual(q.result(T0 + 299_000));
  });
});

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

/** The reference layout: one DDSketch per sub-window, as the encoding describes. */
function referenceEncoding(subs: Map<number, DDSketch>): Uint8Array {
  const w = new ByteWriter();
  const live = [...subs.entries()].filter(([, s]) => s.count > 0);
  w.varUint(live.length);
  for (const [sub, sketch] of live) {
    w.varInt(sub);
    sketch.writeContents(w);
  }
  return w.finish();
}

describe('WindowedQuantiles against one DDSketch per sub-window', () => {
  const distributions: Record<string, (r: () => number) => number> = {
    lognormal: (r) => Math.exp(2 + Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())),
    'signed with zeros': (r) => (r() < 0.1 ? 0 : (r() - 0.5) * 2000),
    constant: () => 42,
    bimodal: (r) => (r() < 0.5 ? 1 + r() : 1000 + 100 * r()),
  };
  for (const [name, draw] of Object.entries(distributions)) {
    it(`answers every quantile and encodes byte for byte as the reference (${name}, out-of-order events)`, () => {
      const r = rng(name.length * 7919);
      const q = new WindowedQuantiles({ windowSeconds: 60, subWindows: 6 }); // 10 s sub-windows, 7 slots
      const values: { v: number; sec: number }[] = [];
      let clock = T0;
      for (let i = 0; i < 4000; i++) {
        clock += Math.floor(r() * 60);
        const t = clock - Math.floor(r() * 50_000); // up to 50 s late, inside the ring
        const v = draw(r);
        if (q.record(v, t)) values.push({ v, sec: Math.floor(t / 1000) });
        if (i % 500 === 499) {
          const nowMs = clock;
          const nowSec = Math.floor(nowMs / 1000);
          const lo = Math.floor((nowSec - 60 + 1) / 10);
          const hi = Math.floor(nowSec / 10);
          const inWindow = values.filter(({ sec }) => Math.floor(sec / 10) >= lo && Math.floor(sec / 10) <= hi);
          const ref = new DDSketch();
          inWindow.forEach(({ v }) => ref.add(v));
          const qs = [0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1];
          expect(q.quantiles(qs, nowMs)).toEqual(qs.map((x) => ref.quantile(x)));
          // The ring's sub-windows, sketched one by one, encode exactly as the packed layout.
          const newest = Math.max(...values.map(({ sec }) => Math.floor(sec / 10)));
          const subs = new Map<number, DDSketch>();
          const slotOf = (sub: number) => ((sub % 7) + 7) % 7;
          for (const { v, sec } of values) {
            const sub = Math.floor(sec / 10);
            if (sub <= newest - 7) continue;
            if (!subs.has(sub)) subs.set(sub, new DDSketch());
            subs.get(sub)!.add(v);
          }
          const ordered = new Map([...subs.entries()].sort((a, b) => slotOf(a[0]) - slotOf(b[0])));
          const w = new ByteWriter();
          q.writeContents(w);
          expect(w.finish()).toEqual(referenceEncoding(ordered));
        }
      }
    });
  }

  it('keeps at most maxBins bins per sign, folding the smallest magnitudes, and stays accurate at the top', () => {
    const q = new WindowedQuantiles({ windowSeconds: 60, subWindows: 6, maxBins: 64 });
    const ref = new DDSketch({ maxBins: 64 });
    for (let i = 0; i < 5000; i++) {
      const v = Math.exp((i % 500) / 10); // 1 … e^50: ~2,500 bins at 1 %
      q.record(v, T0 + i * 10);
      q.record(-v, T0 + i * 10);
      ref.add(v);
      ref.add(-v);
    }
    expect(q.pairCount).toBeLessThanOrEqual(2 * 64 * 7 + 7);
    const [p99] = q.quantiles([0.99], T0 + 50_000);
    expect(Math.abs(p99! - ref.quantile(0.99)!) / ref.quantile(0.99)!).toBeLessThanOrEqual(0.02);
    const [p01] = q.quantiles([0.01], T0 + 50_000);
    expect(p01! / ref.quantile(0.01)!).toBeGreaterThan(0.98);
  });

  it('reads counts above 2^31 − 1 per bin and writes them back unchanged', () => {
    const sketch = new DDSketch();
    sketch.add(5, 3_000_000_000);
    sketch.add(7);
    const bytes = referenceEncoding(new Map([[Math.floor(T0 / 1000 / 30), sketch]]));
    const q = WindowedQuantiles.readContents(new ByteReader(bytes), { windowSeconds: 300 });
    expect(q.result(T0)).toEqual({ p50: sketch.quantile(0.5), p90: sketch.quantile(0.9), p95: sketch.quantile(0.95), p99: sketch.quantile(0.99) });
    const w = new ByteWriter();
    q.writeContents(w);
    expect(w.finish()).toEqual(bytes);
    // Merging two such windows adds the counts without overflowing a pair.
    q.merge(WindowedQuantiles.readContents(new ByteReader(bytes), { windowSeconds: 300 }));
    const doubled = new DDSketch();
    doubled.merge(sketch);
    doubled.merge(sketch);
    const w2 = new ByteWriter();
    q.writeContents(w2);
    expect(w2.finish()).toEqual(referenceEncoding(new Map([[Math.floor(T0 / 1000 / 30), doubled]])));
  });

  it('refuses non-finite values and magnitudes past the sketch range without changing its state', () => {
    const q = new WindowedQuantiles();
    q.record(1, T0);
    expect(() => q.record(Number.NaN, T0)).toThrow(InvalidArgumentError);
    expect(() => q.record(Number.MAX_VALUE, T0)).toThrow(/magnitude at most/);
    expect(q.result(T0)).toEqual(quantilesOf([1]));
  });
});

describe('BinStore layouts (through DDSketch)', () => {
  it('switches a sparse store to dense when a bin count passes 2^31 - 1 and keeps exact counts', () => {
    const s = new DDSketch();
    s.add(5, 2 ** 31 - 2);
    s.add(5, 3);
    s.add(7, 2 ** 40);
    expect(s.count).toBe(2 ** 31 + 1 + 2 ** 40);
    const copy = DDSketch.deserialize(s.serialize());
    expect([copy.count, copy.quantile(0)]).toEqual([s.count, 5]);
    const merged = new DDSketch();
    merged.merge(copy);
    merged.merge(s);
    expect(merged.count).toBe(2 * s.count);
  });

  it('gives identical bytes whether bins arrived sparse or went dense', () => {
    const many = new DDSketch();
    for (let i = 0; i < 5000; i++) many.add(1 + (i % 400) / 10);
    const parts = [new DDSketch(), new DDSketch()];
    for (let i = 0; i < 5000; i++) parts[i % 2].add(1 + (i % 400) / 10);
    const merged = new DDSketch();
    merged.merge(parts[0]);
    merged.merge(parts[1]);
    expect(merged.serialize()).toEqual(many.serialize());
  });
});

describe('ByteWriter / ByteReader', () => {
  it('round-trips varints up to 2^53, zig-zag negatives, floats and UTF-8 strings', () => {
    const w = new ByteWriter(1);
    const uints = [0, 1, 127, 128, 2 ** 32, Number.MAX_SAFE_INTEGER];
    const ints = [0, -1, 1, -(2 ** 40), 2 ** 40];
    uints.forEach((v) => w.varUint(v));
    ints.forEach((v) => w.varInt(v));
    w.f64(-0.1);
    w.string('latência_ms ✓');
    const r = new ByteReader(w.finish());
    expect([uints.map(() => r.varUint()), ints.map(() => r.varInt()), r.f64(), r.string(), r.done]).toEqual([uints, ints, -0.1, 'latência_ms ✓', true]);
  });
});

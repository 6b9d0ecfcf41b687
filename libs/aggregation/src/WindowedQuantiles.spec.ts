import { ByteReader } from './ByteReader';
import { ByteWriter } from './ByteWriter';
import { DDSketch } from './DDSketch';
import { IncompatibleMergeError } from './errors';
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

import { IncompatibleMergeError, InvalidArgumentError } from './errors';
import { RateCounter } from './RateCounter';

const T0 = Date.UTC(2026, 10, 27, 0, 0, 0);

describe('RateCounter', () => {
  it('divides the events of the last window by the whole window', () => {
    const r = RateCounter.create({ windowSeconds: 60 });
    for (let s = 0; s < 120; s++) for (let k = 0; k < 10; k++) r.record(T0 + s * 1000 + k);
    expect(r.result(T0 + 119_500)).toEqual({ count: 600, ratePerSec: 10, windowSeconds: 60 });
    expect(r.result(T0 + 9_000)).toEqual({ count: 0, ratePerSec: 0, windowSeconds: 60 }); // slots now hold seconds 60..119
  });

  it('does not extrapolate a partial window', () => {
    const r = new RateCounter({ windowSeconds: 60 });
    for (let s = 0; s < 10; s++) r.record(T0 + s * 1000, 100);
    expect(r.result(T0 + 9_000).ratePerSec).toBeCloseTo(1000 / 60, 12);
  });

  it('drops seconds at the window boundary and refuses events a window older than the newest', () => {
    const r = new RateCounter({ windowSeconds: 10 });
    r.record(T0);
    expect(r.result(T0 + 9_999).count).toBe(1);
    expect(r.result(T0 + 10_000).count).toBe(0);
    r.record(T0 + 20_000);
    expect(r.record(T0 + 10_000)).toBe(false);
    expect(r.record(T0 + 10_001 + 999)).toBe(true);
    expect(r.isIdle(T0 + 30_000)).toBe(true);
  });

  it('merges exactly, leaving the argument unchanged', () => {
    const a = new RateCounter({ windowSeconds: 10 });
    const b = new RateCounter({ windowSeconds: 10 });
    const single = new RateCounter({ windowSeconds: 10 });
    for (let i = 0; i < 300; i++) {
      const t = T0 + ((i * 37) % 15_000);
      (i % 2 ? a : b).record(t);
      single.record(t);
    }
    const before = b.serialize();
    a.merge(b);
    a.merge(new RateCounter({ windowSeconds: 10 }));
    expect(b.serialize()).toEqual(before);
    for (const now of [T0 + 9_000, T0 + 14_999]) expect(a.result(now)).toEqual(single.result(now));
    expect(() => a.merge(new RateCounter({ windowSeconds: 5 }))).toThrow(new IncompatibleMergeError('cannot merge a RateCounter of 5 s into one of 10 s'));
  });

  it('round-trips through serialization', () => {
    const r = new RateCounter();
    for (let i = 0; i < 1000; i++) r.record(T0 + i * 97);
    const copy = RateCounter.deserialize(r.serialize());
    expect(copy.result(T0 + 97_000)).toEqual(r.result(T0 + 97_000));
    expect(copy.serialize()).toEqual(r.serialize());
  });

  it('rejects bad counts', () => {
    expect(() => new RateCounter().record(T0, 0)).toThrow(new InvalidArgumentError('count must be a positive integer, got 0'));
  });
});

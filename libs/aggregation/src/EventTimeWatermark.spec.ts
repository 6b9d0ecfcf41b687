import { InvalidArgumentError } from './errors';
import { EventTimeWatermark } from './EventTimeWatermark';

const W = Date.UTC(2026, 10, 27, 12, 0, 0);

describe('EventTimeWatermark', () => {
  it('follows the highest event time and never moves for events stamped more than the skew ahead of the wall clock', () => {
    const wm = new EventTimeWatermark({ maxFutureSkewMs: 60_000 });
    expect(wm.observe(W - 2_000, W)).toBe('ok');
    expect(wm.ms).toBe(W - 2_000);
    expect(wm.observe(W - 5_000, W)).toBe('ok'); // older: counts, the watermark stays
    expect(wm.ms).toBe(W - 2_000);
    expect(wm.observe(W + 30_000, W)).toBe('ok');
    expect(wm.observe(W + 60_000, W)).toBe('ok'); // exactly the skew ahead still counts
    expect(wm.ms).toBe(W + 60_000);
    expect(wm.observe(W + 86_400_000, W)).toBe('future');
    expect(wm.observe(Date.parse('9999-12-31T23:59:59Z'), W)).toBe('future');
    expect(wm.observe(W + 60_001, W)).toBe('future');
    expect(wm.ms).toBe(W + 60_000);
    // The same stamp is no longer in the future once the wall clock has caught up.
    expect(wm.observe(W + 86_400_000, W + 86_400_000)).toBe('ok');
    expect(wm.ms).toBe(W + 86_400_000);
  });

  it('starts from a restored watermark, defaults to a 60 s skew and rejects bad numbers', () => {
    const wm = new EventTimeWatermark({ initialMs: W });
    expect([wm.ms, wm.maxFutureSkewMs]).toEqual([W, 60_000]);
    expect(wm.observe(W - 1, W)).toBe('ok');
    expect(wm.ms).toBe(W);
    expect(new EventTimeWatermark({ maxFutureSkewMs: 0 }).observe(W + 1, W)).toBe('future');
    expect(() => new EventTimeWatermark({ maxFutureSkewMs: -1 })).toThrow(new InvalidArgumentError('maxFutureSkewMs must be a finite number ≥ 0, got -1'));
    expect(() => wm.observe(Number.NaN, W)).toThrow(new InvalidArgumentError('eventTimeMs must be a finite number of epoch milliseconds, got NaN'));
  });
});

import { startHeapTrimmer, trimHeap } from './heapTrimmer';

describe('trimHeap', () => {
  it('hands the pages of a collected burst back: the V8 heap shrinks to what is live', () => {
    // A burst of short-lived objects grows the heap; once they are garbage, a regular GC would keep
    // the freed pages pooled, a memory-reducing one releases them.
    let burst: Array<{ i: number; s: string }> | null = [];
    for (let i = 0; i < 600_000; i++) burst.push({ i, s: `value ${i}` });
    const grown = process.memoryUsage().heapTotal;
    burst = null;
    const trim = trimHeap();
    expect(burst).toBeNull();
    expect(trim.heapTotalBefore).toBeGreaterThanOrEqual(grown * 0.9);
    expect(trim.heapTotalAfter).toBeLessThan(trim.heapTotalBefore / 2);
    expect(trim.seconds).toBeGreaterThan(0);
  });

  it('works without --expose-gc and leaves no global gc behind', () => {
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    trimHeap();
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  });
});

describe('startHeapTrimmer', () => {
  it('trims on its interval and stops', async () => {
    const trims: number[] = [];
    const trimmer = startHeapTrimmer({ intervalMs: 20, onTrim: (t) => trims.push(t.seconds) });
    await new Promise((r) => setTimeout(r, 150));
    trimmer.stop();
    const seen = trims.length;
    expect(seen).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 80));
    expect(trims.length).toBe(seen);
  });
});

// trimHeap against the real V8 heap: a GC assertion, so it runs in the integration tier (a unit run
// shares its heap with whatever else the Jest worker holds). No broker needed.
import { trimHeap } from './heapTrimmer';

describe('trimHeap on the V8 heap', () => {
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
});

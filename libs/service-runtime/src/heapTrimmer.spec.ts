import { startHeapTrimmer, trimHeap } from './heapTrimmer';

// What a trim does to the heap (it shrinks to what is live) is a GC assertion: heapTrimmer.int.spec.ts.
describe('trimHeap', () => {
  it('works without --expose-gc and leaves no global gc behind', () => {
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    trimHeap();
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  });
});

describe('startHeapTrimmer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('trims once per interval, and no more once stopped', () => {
    let trims = 0;
    const trimmer = startHeapTrimmer({ intervalMs: 20, onTrim: () => trims++ });
    jest.advanceTimersByTime(19);
    expect(trims).toBe(0);
    jest.advanceTimersByTime(1);
    expect(trims).toBe(1);
    jest.advanceTimersByTime(40);
    expect(trims).toBe(3);
    trimmer.stop();
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(100);
    expect(trims).toBe(3);
  });
});

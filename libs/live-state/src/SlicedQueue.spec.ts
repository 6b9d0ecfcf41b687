import { SlicedQueue } from './SlicedQueue';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('SlicedQueue', () => {
  it('applies every item in order on later turns, a slice per turn, and flush() applies the rest at once', async () => {
    const applied: number[] = [];
    const q = new SlicedQueue<number>((n) => applied.push(n), 0); // a slice ends at the first check (every 32 items)
    for (let i = 0; i < 100; i++) q.push(i);
    expect(applied).toEqual([]);
    await turn();
    expect(applied).toEqual([...Array(32).keys()]);
    expect(q.size).toBe(68);
    q.flush();
    expect(applied).toEqual([...Array(100).keys()]);
    expect(q.size).toBe(0);
    await turn();
    expect(applied.length).toBe(100);
  });

  it('drains on its own when nobody flushes', async () => {
    const applied: number[] = [];
    const q = new SlicedQueue<number>((n) => applied.push(n), 0);
    for (let i = 0; i < 100; i++) q.push(i);
    for (let t = 0; t < 4; t++) await turn();
    expect(applied).toEqual([...Array(100).keys()]);
    expect(q.size).toBe(0);
  });

  it('drained(n) resolves once at most n items wait, so a producer that awaits it bounds the queue', async () => {
    const q = new SlicedQueue<number>(() => undefined, 0);
    for (let i = 0; i < 100; i++) q.push(i);
    const sizesWhenResolved: number[] = [];
    const below50 = q.drained(50).then(() => sizesWhenResolved.push(q.size));
    const empty = q.drained(0).then(() => sizesWhenResolved.push(q.size));
    await Promise.all([below50, empty]);
    expect(sizesWhenResolved[0]).toBeLessThanOrEqual(50);
    expect(sizesWhenResolved[1]).toBe(0);
    let resolved = false;
    await q.drained(0).then(() => (resolved = true));
    expect(resolved).toBe(true); // nothing waiting: at once
  });
});

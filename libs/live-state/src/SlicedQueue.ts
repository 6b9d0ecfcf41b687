import { performance } from 'node:perf_hooks';

/** Default longest stretch one slice of work may hold the event loop (ms). */
export const SLICE_MS = 4;

/** Resolves on the next turn of the event loop (after pending I/O and timers): where a long job lets others run. */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Work items applied in order, in slices of about `sliceMs` each on later turns of the event loop,
 * so that a burst of items (a round of 10,000 state-topic messages delivered in batches of 1,000)
 * never holds the loop for longer than one slice. `flush()` applies what is left at once: a reader
 * calls it first, so it always sees every item pushed before its call.
 *
 * `apply` must not throw (an item that fails is the caller's to report); the queue keeps nothing
 * once an item is applied.
 */
export class SlicedQueue<T> {
  private items: Array<T | undefined> = [];
  private head = 0;
  private scheduled = false;
  private waiters: Array<{ most: number; resolve: () => void }> = [];

  constructor(
    private readonly apply: (item: T) => void,
    private readonly sliceMs = SLICE_MS,
  ) {}

  push(item: T): void {
    this.items.push(item);
    this.schedule();
  }

  /** Items pushed and not yet applied. */
  get size(): number {
    return this.items.length - this.head;
  }

  /**
   * Resolves once at most `most` items wait (at once if so already): a producer that awaits it
   * before pushing more bounds what the queue holds, whatever the items keep alive.
   */
  drained(most: number): Promise<void> {
    if (this.size <= most) return Promise.resolve();
    return new Promise<void>((resolve) => this.waiters.push({ most, resolve }));
  }

  /** Applies every item pushed so far. */
  flush(): void {
    this.run(Infinity);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.run(this.sliceMs);
      if (this.size > 0) this.schedule();
    }).unref();
  }

  private run(budgetMs: number): void {
    const end = budgetMs === Infinity ? Infinity : performance.now() + budgetMs;
    while (this.head < this.items.length) {
      const item = this.items[this.head] as T;
      this.items[this.head++] = undefined;
      this.apply(item);
      if ((this.head & 31) === 0 && performance.now() > end) break;
    }
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head); // under steady arrival the queue never empties
      this.head = 0;
    }
    if (this.waiters.length > 0) {
      const ready = this.waiters.filter((w) => this.size <= w.most);
      this.waiters = this.waiters.filter((w) => this.size > w.most);
      for (const w of ready) w.resolve();
    }
  }
}

/** Starts a timer of `ms` milliseconds that runs `fn`; returns a function that cancels it. */
export type ScheduleTimer = (fn: () => void, ms: number) => () => void;

export interface ReadBudgetOptions {
  /** Most calls receiving their request at once, process-wide (at least 1). */
  maxConcurrentReads: number;
  /** Longest a call may hold a read slot before its request has fully arrived, in milliseconds. */
  readTimeoutMs: number;
  /** Timer source (tests pass a fake clock). Default: setTimeout, unref'd. */
  schedule?: ScheduleTimer;
}

interface Ticket {
  source: string;
  admit: () => void;
  expire: () => void;
  state: 'waiting' | 'reading' | 'done';
  cancelTimer: () => void;
}

const realTimer: ScheduleTimer = (fn, ms) => {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
};

/**
 * Process-wide admission of request reads: at most `maxConcurrentReads` calls receive their request
 * at once, so the request bytes being received stay under maxConcurrentReads × the largest message
 * accepted (16 × 4 MiB = 64 MiB by default), however many connections and streams the callers open. A waiting call's bytes stay with its client (HTTP/2
 * flow control; the server buffers one stream window, 64 KiB, of it).
 *
 * Fair across sources (connections): a freed slot goes to the sources with waiting calls in turn,
 * not to the oldest call, so a connection with many waiting calls does not delay a call on another
 * connection by more than about one read timeout while the sources waiting are at most
 * `maxConcurrentReads`. A slot is held from admission until `release` (request arrived, call ended)
 * or for `readTimeoutMs` at most: then it is freed and the call's `expire` runs, so a slow sender
 * cannot keep it.
 */
export class ReadBudget {
  /** Longest a call may hold a read slot before its request has fully arrived, in milliseconds. */
  readonly readTimeoutMs: number;
  private readonly max: number;
  private readonly schedule: ScheduleTimer;
  private readingCount = 0;
  /** Waiting tickets per source; Map order is the turn order (a served source moves to the end). */
  private readonly queues = new Map<string, Ticket[]>();

  constructor(opts: ReadBudgetOptions) {
    if (!(Number.isInteger(opts.maxConcurrentReads) && opts.maxConcurrentReads >= 1)) throw new RangeError(`maxConcurrentReads must be an integer >= 1, got ${opts.maxConcurrentReads}`);
    if (!(opts.readTimeoutMs > 0)) throw new RangeError(`readTimeoutMs must be > 0, got ${opts.readTimeoutMs}`);
    this.max = opts.maxConcurrentReads;
    this.readTimeoutMs = opts.readTimeoutMs;
    this.schedule = opts.schedule ?? realTimer;
  }

  /** Calls holding a slot. */
  get reading(): number {
    return this.readingCount;
  }

  /** Calls waiting for a slot. */
  get waiting(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  /**
   * Asks for a read slot for a call arriving on `source`. `admit` runs once it holds one (at once if
   * one is free); `expire` runs if it then holds it `readTimeoutMs` without being released (the slot
   * is already free by then). Returns `release`: call it when the request has arrived or the call
   * ended, in any state (a waiting call leaves the queue); later calls do nothing.
   */
  acquire(source: string, admit: () => void, expire: () => void): () => void {
    const ticket: Ticket = { source, admit, expire, state: 'waiting', cancelTimer: () => undefined };
    if (this.readingCount < this.max) this.start(ticket);
    else {
      const q = this.queues.get(source);
      if (q) q.push(ticket);
      else this.queues.set(source, [ticket]);
    }
    return () => this.release(ticket);
  }

  private start(ticket: Ticket): void {
    ticket.state = 'reading';
    this.readingCount++;
    ticket.cancelTimer = this.schedule(() => {
      if (ticket.state !== 'reading') return;
      this.finish(ticket);
      ticket.expire();
    }, this.readTimeoutMs);
    ticket.admit();
  }

  private release(ticket: Ticket): void {
    if (ticket.state === 'reading') this.finish(ticket);
    else if (ticket.state === 'waiting') {
      ticket.state = 'done';
      const q = this.queues.get(ticket.source);
      if (!q) return;
      q.splice(q.indexOf(ticket), 1);
      if (q.length === 0) this.queues.delete(ticket.source);
    }
  }

  /** Frees `ticket`'s slot and gives it to the next source in turn. */
  private finish(ticket: Ticket): void {
    ticket.state = 'done';
    ticket.cancelTimer();
    this.readingCount--;
    const next = this.queues.entries().next();
    if (next.done) return;
    const [source, q] = next.value;
    this.queues.delete(source);
    const head = q.shift()!;
    if (q.length > 0) this.queues.set(source, q); // to the end of the turn order
    this.start(head);
  }
}

import { ReadBudget, type ScheduleTimer } from './ReadBudget';

/** A manual clock: timers fire only when `advance` passes their due time. */
function fakeClock() {
  let now = 0;
  let timers: { due: number; fn: () => void }[] = [];
  const schedule: ScheduleTimer = (fn, ms) => {
    const t = { due: now + ms, fn };
    timers.push(t);
    return () => {
      timers = timers.filter((x) => x !== t);
    };
  };
  const advance = (ms: number) => {
    now += ms;
    for (;;) {
      const due = timers.filter((t) => t.due <= now).sort((a, b) => a.due - b.due)[0];
      if (!due) return;
      timers = timers.filter((t) => t !== due);
      due.fn();
    }
  };
  return { schedule, advance, pending: () => timers.length };
}

/** A budget whose calls record what happened to them in `events`. */
function setup(maxConcurrentReads: number, readTimeoutMs = 1000) {
  const clock = fakeClock();
  const budget = new ReadBudget({ maxConcurrentReads, readTimeoutMs, schedule: clock.schedule });
  const events: string[] = [];
  const call = (source: string, id: string) => budget.acquire(source, () => events.push(`admit ${id}`), () => events.push(`expire ${id}`));
  return { clock, budget, events, call };
}

describe('ReadBudget', () => {
  it('admits up to maxConcurrentReads calls at once and queues the rest', () => {
    const { budget, events, call } = setup(2);
    call('c1', 'a');
    call('c1', 'b');
    call('c1', 'c');
    expect(events).toEqual(['admit a', 'admit b']);
    expect({ reading: budget.reading, waiting: budget.waiting }).toEqual({ reading: 2, waiting: 1 });
  });

  it('gives a slot released when the request arrived to the next waiting call', () => {
    const { budget, events, call } = setup(1);
    const a = call('c1', 'a');
    call('c1', 'b');
    a();
    expect(events).toEqual(['admit a', 'admit b']);
    expect({ reading: budget.reading, waiting: budget.waiting }).toEqual({ reading: 1, waiting: 0 });
  });

  it('frees the slot of a call cancelled while reading, and drops a call cancelled while waiting', () => {
    const { budget, events, call, clock } = setup(1);
    const a = call('c1', 'a');
    const b = call('c1', 'b');
    call('c1', 'c');
    b(); // cancelled in the queue: never admitted
    a(); // cancelled while reading
    expect(events).toEqual(['admit a', 'admit c']);
    expect({ reading: budget.reading, waiting: budget.waiting, timers: clock.pending() }).toEqual({ reading: 1, waiting: 0, timers: 1 });
  });

  it('ignores a second release of the same call', () => {
    const { budget, events, call } = setup(1);
    const a = call('c1', 'a');
    call('c1', 'b');
    call('c1', 'c');
    a();
    a();
    expect(events).toEqual(['admit a', 'admit b']);
    expect({ reading: budget.reading, waiting: budget.waiting }).toEqual({ reading: 1, waiting: 1 });
  });

  it('expires a call that holds its slot readTimeoutMs without its request arriving, and admits the next', () => {
    const { budget, events, call, clock } = setup(1, 1000);
    call('c1', 'a');
    call('c1', 'b');
    clock.advance(999);
    expect(events).toEqual(['admit a']);
    clock.advance(1);
    expect(events).toEqual(['admit a', 'admit b', 'expire a']);
    clock.advance(1000);
    expect(events).toEqual(['admit a', 'admit b', 'expire a', 'expire b']);
    expect({ reading: budget.reading, waiting: budget.waiting }).toEqual({ reading: 0, waiting: 0 });
  });

  it('stops the read timer of a call released in time', () => {
    const { events, call, clock } = setup(1, 1000);
    const a = call('c1', 'a');
    clock.advance(500);
    a();
    clock.advance(10_000);
    expect(events).toEqual(['admit a']);
    expect(clock.pending()).toBe(0);
  });

  it('hands freed slots to the connections with waiting calls in turn, not to the oldest call', () => {
    const { events, call, clock } = setup(2, 1000);
    // A greedy connection holds both slots and queues four more; a second connection then queues one.
    for (const id of ['g1', 'g2', 'g3', 'g4', 'g5', 'g6']) call('greedy', id);
    call('other', 'o1');
    clock.advance(1000); // both greedy reads expire: one slot goes to greedy, the next to other
    expect(events).toEqual(['admit g1', 'admit g2', 'admit g3', 'expire g1', 'admit o1', 'expire g2']);
  });

  it('refuses a budget without slots or without a timeout', () => {
    expect(() => new ReadBudget({ maxConcurrentReads: 0, readTimeoutMs: 1 })).toThrow(new RangeError('maxConcurrentReads must be an integer >= 1, got 0'));
    expect(() => new ReadBudget({ maxConcurrentReads: 1, readTimeoutMs: 0 })).toThrow(new RangeError('readTimeoutMs must be > 0, got 0'));
  });
});

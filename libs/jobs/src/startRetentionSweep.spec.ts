import { startRetentionSweep } from './startRetentionSweep';

describe('startRetentionSweep', () => {
  afterEach(() => jest.useRealTimers());

  it('sweeps once at start and then every interval with the clock it is given, reporting what was deleted', async () => {
    jest.useFakeTimers();
    const calls: [number, number][] = [];
    const deleted: string[][] = [];
    let clock = 1_000;
    const view = { deleteExpired: async (nowMs: number, retentionMs: number) => (calls.push([nowMs, retentionMs]), calls.length === 2 ? ['j1'] : []) };
    const sweep = startRetentionSweep(view, { retentionMs: 50, intervalMs: 100, now: () => clock, onDeleted: (ids) => deleted.push(ids) });
    await sweep.current;
    clock = 2_000;
    await jest.advanceTimersByTimeAsync(100);
    await sweep.current;
    sweep.stop();
    await jest.advanceTimersByTimeAsync(1_000);
    expect([calls, deleted]).toEqual([[[1_000, 50], [2_000, 50]], [['j1']]]);
  });

  it('skips a tick while a sweep runs, and reports a failed sweep without stopping the next', async () => {
    jest.useFakeTimers();
    let release!: () => void;
    let n = 0;
    const errors: unknown[] = [];
    const view = {
      deleteExpired: () => {
        n++;
        if (n === 1) return new Promise<string[]>((resolve) => (release = () => resolve([])));
        return Promise.reject(new Error('bus down'));
      },
    };
    const sweep = startRetentionSweep(view, { retentionMs: 1, intervalMs: 10, onError: (e) => errors.push((e as Error).message) });
    await jest.advanceTimersByTimeAsync(30); // three ticks while the first sweep is still running
    expect(n).toBe(1);
    release();
    await sweep.current;
    await jest.advanceTimersByTimeAsync(10);
    await sweep.current;
    await jest.advanceTimersByTimeAsync(10);
    await sweep.current;
    sweep.stop();
    expect([n, errors]).toEqual([3, ['bus down', 'bus down']]);
  });
});

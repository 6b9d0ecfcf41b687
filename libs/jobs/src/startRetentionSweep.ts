/** How often a service sweeps its finished jobs past the retention: every 10 minutes (and once at start). */
export const JOB_RETENTION_SWEEP_INTERVAL_MS = 10 * 60_000;

/**
 * Runs `view.deleteExpired(now, retentionMs)` once now and then every `intervalMs`, a sweep at a time
 * (a tick while one runs is skipped); the timer does not keep the process alive. Every replica of the
 * service that owns the jobs runs one: the sweep is idempotent (see deleteExpired), so replicas need
 * no coordination. `now` is the clock (epoch ms), a parameter so tests are exact.
 */
export function startRetentionSweep(
  view: { deleteExpired(nowMs: number, retentionMs: number): Promise<string[]> },
  opts: { retentionMs: number; intervalMs?: number; now?: () => number; onDeleted?(jobIds: string[]): void; onError?(err: unknown): void },
): { stop(): void; /** The sweep in progress or the last one (for tests and shutdown). */ readonly current: Promise<void> } {
  const now = opts.now ?? Date.now;
  let running: Promise<void> | undefined;
  let last: Promise<void> = Promise.resolve();
  const sweep = () => {
    if (running) return;
    running = view
      .deleteExpired(now(), opts.retentionMs)
      .then(
        (ids) => {
          if (ids.length > 0) opts.onDeleted?.(ids);
        },
        (err: unknown) => opts.onError?.(err),
      )
      .finally(() => (running = undefined));
    last = running;
  };
  sweep();
  const timer = setInterval(sweep, opts.intervalMs ?? JOB_RETENTION_SWEEP_INTERVAL_MS);
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    get current() {
      return last;
    },
  };
}

/**
 * Callers waiting for jobs to end, by job id, for a job view's `waitForEnd`: the view calls
 * `notify(jobId)` on every status update of the job; each wait resolves once its `ended()` holds
 * (checked at once and at each notify) or when `timeoutMs` has passed, with `current()` then.
 */
export class JobEndWaiters<T> {
  private readonly waiters = new Map<string, Set<() => void>>();

  notify(jobId: string): void {
    for (const f of this.waiters.get(jobId) ?? []) f();
  }

  wait(jobId: string, timeoutMs: number, ended: () => boolean, current: () => T): Promise<T> {
    if (ended() || timeoutMs <= 0) return Promise.resolve(current());
    return new Promise((resolve) => {
      let set = this.waiters.get(jobId);
      if (!set) this.waiters.set(jobId, (set = new Set()));
      const finish = () => {
        clearTimeout(timer);
        set!.delete(check);
        if (set!.size === 0) this.waiters.delete(jobId);
        resolve(current());
      };
      const check = () => {
        if (ended()) finish();
      };
      const timer = setTimeout(finish, timeoutMs);
      set.add(check);
    });
  }
}

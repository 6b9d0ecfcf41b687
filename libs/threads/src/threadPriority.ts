import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** What {@link lowerThreadPriority} did: the thread's nice value after it, or why it left it alone. */
export type ThreadPriorityResult = { applied: true; tid: number; nice: number } | { applied: false; reason: string };

/**
 * Lowers the CPU priority of the calling thread — meant for a background worker thread (model
 * decoding, training) — to nice value `nice` (0–19), so that when the service's event loop and the
 * worker both want a core, the scheduler runs the event loop first. Only this thread changes: on
 * Linux `setpriority(PRIO_PROCESS, tid)` applies to the one thread `tid`, found from
 * `/proc/thread-self`. Where there is no such file (not Linux) it does nothing, since the same
 * call with a process id would renice the whole service. Never raises priority (a thread already at
 * a higher nice value keeps it) and never throws: raising a nice value needs no privilege, but a
 * sandbox may still refuse it, and a worker is still useful at normal priority.
 */
export function lowerThreadPriority(nice: number): ThreadPriorityResult {
  if (!Number.isInteger(nice) || nice < 0 || nice > 19) return { applied: false, reason: `nice must be an integer 0–19, got ${nice}` };
  let tid: number;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return { applied: false, reason: 'no /proc/thread-self (not Linux): thread priorities are left alone' };
  }
  if (!Number.isInteger(tid) || tid <= 0) return { applied: false, reason: 'could not read this thread id from /proc/thread-self' };
  try {
    const current = getPriority(tid);
    if (current < nice) setPriority(tid, nice);
    return { applied: true, tid, nice: getPriority(tid) };
  } catch (err) {
    return { applied: false, reason: `setpriority refused: ${(err as Error).message}` };
  }
}

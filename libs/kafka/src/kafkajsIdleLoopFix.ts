// kafkajs 2.2.4 keeps every broker connection busy when it has nothing to do: after each response
// `RequestQueue.checkPendingRequests` calls `scheduleCheckPendingRequests`, which arms a timer for
// `throttledUntil - Date.now()` ms even when no request is pending. `throttledUntil` starts at -1, so
// that delay is negative, Node clamps it to 1 ms (on Node 24 with a TimeoutNegativeWarning), and the
// timer re-arms itself forever: ~1,000 wake-ups a second per connection, ~5 % of a core per idle
// service here, and scheduling noise for everything else on the machine (upstream: tulios/kafkajs
// issues #1704 and #1751, unmerged PR #1667).
//
// The replacement arms a timer only when it has something to wait for: pending requests (at the end of
// the throttle, or after kafkajs's 10 ms re-check) or an active throttle. With nothing pending and no
// throttle there is nothing to check; `push` and every fulfilled or timed-out request call
// `checkPendingRequests` themselves, so no request can be stranded.
import { createRequire } from 'node:module';

/** kafkajs's re-check interval for pending requests (`CHECK_PENDING_REQUESTS_INTERVAL`), in ms. */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

/** The fields of kafkajs's private RequestQueue that the replacement reads and writes. */
export interface RequestQueueState {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests(): void;
}

/**
 * The delay, in ms, before pending requests must be checked again, or undefined when no check is
 * needed (nothing pending and no throttle in force).
 */
export function nextPendingCheckMs(pendingCount: number, throttledUntil: number, now: number): number | undefined {
  const untilUnthrottled = throttledUntil - now;
  if (pendingCount > 0) return untilUnthrottled > 0 ? untilUnthrottled : CHECK_PENDING_REQUESTS_INTERVAL_MS;
  return untilUnthrottled > 0 ? untilUnthrottled : undefined;
}

/** Drop-in for `RequestQueue.prototype.scheduleCheckPendingRequests`. */
export function scheduleCheckPendingRequests(this: RequestQueueState): void {
  if (this.throttleCheckTimeoutId) return; // a check is already armed; it re-arms if it must
  const delay = nextPendingCheckMs(this.pending.length, this.throttledUntil, Date.now());
  if (delay === undefined) return;
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, delay);
}

let applied: boolean | undefined;

/**
 * Installs the replacement on kafkajs's RequestQueue (once per process; later calls return the first
 * answer). Returns false, and leaves kafkajs untouched, when the installed kafkajs is not the 2.2.x line
 * this was written against or its RequestQueue no longer has the method.
 */
export function fixKafkaJsIdleLoop(): boolean {
  if (applied !== undefined) return applied;
  applied = false;
  const require = createRequire(__filename);
  const version = (require('kafkajs/package.json') as { version: string }).version;
  if (!/^2\.2\./.test(version)) return applied;
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as { prototype: Partial<RequestQueueState> & { scheduleCheckPendingRequests?: unknown } };
  if (typeof RequestQueue.prototype.scheduleCheckPendingRequests !== 'function') return applied;
  RequestQueue.prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  applied = true;
  return applied;
}

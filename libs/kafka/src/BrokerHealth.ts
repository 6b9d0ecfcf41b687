import type { BusObserver } from './EventBus';
import { BusUnavailableError } from './errors';

export interface BrokerHealthOptions {
  /** A cheap request the cluster answers while it is up (a metadata request). */
  probe(): Promise<unknown>;
  /** A probe that has not answered after this long (ms) counts as failed. Default 2,000. */
  probeTimeoutMs?: number;
  /**
   * While the brokers are down, a probe runs this often (ms) to see them back; while they are up,
   * `isUp` probes in the background when the last word is older than this. Default 1,000.
   */
  probeIntervalMs?: number;
  observer?: BusObserver;
}

/**
 * What a Kafka adapter knows of its brokers' reachability, so that while they are down a write
 * fails at once with BusUnavailableError (answered 503 + Retry-After) and readiness is answered
 * from what is known instead of waiting for a request to time out.
 * - Down: a probe failed or did not answer within probeTimeoutMs, or a produce gave up. A produce
 *   attempt that fails with a retriable error starts a probe, which decides.
 * - Up: a probe or a produce succeeded. While down, a probe runs every probeIntervalMs.
 * Nothing accepted is lost: a write refused while down was never taken (its caller answers 503 and
 * the client retries), and a produce in flight when the brokers are found down fails the same way
 * instead of being answered later; only an acknowledged produce is ever reported as stored.
 */
export class BrokerHealth {
  private downSince: Date | undefined;
  private lastWordMs = 0;
  private probing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly onDown = new Set<(e: BusUnavailableError) => void>();
  private stopped = false;
  private readonly probeTimeoutMs: number;
  private readonly probeIntervalMs: number;

  constructor(private readonly opts: BrokerHealthOptions) {
    this.probeTimeoutMs = opts.probeTimeoutMs ?? 2_000;
    this.probeIntervalMs = opts.probeIntervalMs ?? 1_000;
  }

  /** Readiness from what is known, at once; refreshed in the background when older than probeIntervalMs. */
  isUp(): boolean {
    if (!this.downSince && Date.now() - this.lastWordMs > this.probeIntervalMs) void this.check();
    return !this.downSince;
  }

  /** The error a write fails with while the brokers are known down; undefined while they are not. */
  unavailable(): BusUnavailableError | undefined {
    return this.downSince && new BusUnavailableError(`Kafka is unreachable (since ${this.downSince.toISOString()}); nothing was accepted — retry later`);
  }

  /** Fails at once with `unavailable()` while the brokers are known down, rather than after the client's retries. */
  throwIfDown(): void {
    const down = this.unavailable();
    if (down) throw down;
  }

  /** Calls `listener` once if the brokers are found down; returns the function that cancels it. */
  whenDown(listener: (e: BusUnavailableError) => void): () => void {
    this.onDown.add(listener);
    return () => this.onDown.delete(listener);
  }

  /** The brokers answered (a produce or a probe). */
  succeeded(): void {
    this.lastWordMs = Date.now();
    clearInterval(this.timer);
    this.timer = undefined;
    this.downSince = undefined;
    this.opts.observer?.brokerUp?.(true);
  }

  /** The brokers did not answer: writes fail at once from now until a probe succeeds. */
  failed(): void {
    this.lastWordMs = Date.now();
    this.downSince ??= new Date();
    this.opts.observer?.brokerUp?.(false);
    const e = this.unavailable()!;
    for (const listener of [...this.onDown]) listener(e);
    this.onDown.clear();
    if (!this.timer && !this.stopped) {
      this.timer = setInterval(() => void this.check(), this.probeIntervalMs);
      this.timer.unref();
    }
  }

  /** Probes the brokers (one probe at a time) and records the answer. */
  check(): Promise<void> {
    this.probing ??= (async () => {
      let timeout: NodeJS.Timeout | undefined;
      try {
        await Promise.race([this.opts.probe(), new Promise((_, reject) => (timeout = setTimeout(() => reject(new Error('probe timed out')), this.probeTimeoutMs)))]);
        this.succeeded();
      } catch {
        if (!this.stopped) this.failed();
      } finally {
        clearTimeout(timeout);
        this.probing = undefined;
      }
    })();
    return this.probing;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

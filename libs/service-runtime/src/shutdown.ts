import type { Logger } from 'pino';

/** Where termination signals come from (the process, or an emitter in tests). */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

/**
 * Graceful shutdown on SIGTERM/SIGINT: runs `steps` in order (stop taking requests, finish
 * in-flight work, commit offsets, close producers), then exits 0. If they take longer than
 * `timeoutMs` the process exits 1 anyway, so an orchestrator never waits forever.
 *
 * Signals keep being handled for the whole shutdown: a repeated SIGTERM (Kubernetes and
 * `kill -TERM -<pgid>` often deliver more than one) or a second Ctrl-C is logged and otherwise
 * ignored, instead of falling through to Node's default action and killing the process mid-way.
 * The timeout is what bounds a shutdown that hangs.
 */
export function onShutdown(
  logger: Logger,
  timeoutMs: number,
  steps: Array<[name: string, step: () => Promise<void>]>,
  opts: { signals?: SignalSource; exit?: (code: number) => void } = {},
): { isShuttingDown(): boolean; shutdown(reason: string): Promise<void> } {
  const signals = opts.signals ?? process;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let shuttingDown = false;
  let done: Promise<void> | undefined;
  const shutdown = (reason: string) => {
    if (done) return done;
    shuttingDown = true;
    logger.info({ reason }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'graceful shutdown timed out; exiting');
      exit(1);
    }, timeoutMs);
    timer.unref();
    done = (async () => {
      for (const [name, step] of steps) {
        try {
          await step();
        } catch (err) {
          logger.error({ err, step: name }, 'shutdown step failed');
        }
      }
      clearTimeout(timer);
      logger.info('shutdown complete');
    })();
    return done;
  };
  let exitScheduled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (done) logger.info({ signal }, 'already shutting down; signal ignored');
    const finished = shutdown(signal);
    if (exitScheduled) return;
    exitScheduled = true;
    void finished.then(() => exit(0));
  };
  signals.on('SIGTERM', onSignal);
  signals.on('SIGINT', onSignal);
  return { isShuttingDown: () => shuttingDown, shutdown };
}

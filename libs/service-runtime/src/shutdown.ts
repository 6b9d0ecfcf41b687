import type { Logger } from 'pino';

/**
 * Graceful shutdown on SIGTERM/SIGINT: runs `steps` in order (stop taking requests, finish
 * in-flight work, commit offsets, close producers), then exits 0. If they take longer than
 * `timeoutMs` the process exits 1 anyway, so an orchestrator never waits forever.
 */
export function onShutdown(logger: Logger, timeoutMs: number, steps: Array<[name: string, step: () => Promise<void>]>): { isShuttingDown(): boolean; shutdown(reason: string): Promise<void> } {
  let shuttingDown = false;
  let done: Promise<void> | undefined;
  const shutdown = (reason: string) => {
    if (done) return done;
    shuttingDown = true;
    logger.info({ reason }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'graceful shutdown timed out; exiting');
      process.exit(1);
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
  const onSignal = (sig: NodeJS.Signals) => void shutdown(sig).then(() => process.exit(0));
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  return { isShuttingDown: () => shuttingDown, shutdown };
}

import { EventEmitter } from 'node:events';
import { createLogger } from './logger';
import { onShutdown } from './shutdown';

/** A step that finishes only when the test says so. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('onShutdown', () => {
  it('finishes every step once and exits 0 once, however many SIGTERM/SIGINT arrive meanwhile', async () => {
    const signals = new EventEmitter();
    const exits: number[] = [];
    const ran: string[] = [];
    const service = gate();
    const lifecycle = onShutdown(
      createLogger('test', 'silent'),
      60_000,
      [
        [
          'service',
          async () => {
            ran.push('service start');
            await service.opened;
            ran.push('service end');
          },
        ],
        ['bus', async () => void ran.push('bus')],
      ],
      { signals, exit: (code) => exits.push(code) },
    );
    signals.emit('SIGTERM', 'SIGTERM');
    expect(lifecycle.isShuttingDown()).toBe(true);
    // Kubernetes / `kill -TERM -<pgid>` deliver the signal again; an operator presses Ctrl-C.
    signals.emit('SIGTERM', 'SIGTERM');
    signals.emit('SIGINT', 'SIGINT');
    signals.emit('SIGTERM', 'SIGTERM');
    await flush();
    expect([ran, exits]).toEqual([['service start'], []]);
    service.open();
    await lifecycle.shutdown('test');
    await flush();
    expect([ran, exits]).toEqual([['service start', 'service end', 'bus'], [0]]);
    signals.emit('SIGTERM', 'SIGTERM');
    await flush();
    expect(exits).toEqual([0]);
  });

  it('keeps a handler installed for every signal, so none falls through to the default action (terminate)', () => {
    const signals = new EventEmitter();
    onShutdown(createLogger('test', 'silent'), 60_000, [['never', () => new Promise<void>(() => undefined)]], { signals, exit: () => undefined });
    for (let i = 0; i < 3; i++) {
      signals.emit('SIGTERM', 'SIGTERM');
      signals.emit('SIGINT', 'SIGINT');
      expect([signals.listenerCount('SIGTERM'), signals.listenerCount('SIGINT')]).toEqual([1, 1]);
    }
  });

  it('exits 1 when the steps outlast the timeout, and not before', () => {
    jest.useFakeTimers();
    try {
      const signals = new EventEmitter();
      const exits: number[] = [];
      onShutdown(createLogger('test', 'silent'), 20, [['hangs', () => new Promise<void>(() => undefined)]], { signals, exit: (code) => exits.push(code) });
      signals.emit('SIGTERM', 'SIGTERM');
      signals.emit('SIGTERM', 'SIGTERM');
      jest.advanceTimersByTime(19);
      expect(exits).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(exits).toEqual([1]);
    } finally {
      jest.useRealTimers();
    }
  });
});

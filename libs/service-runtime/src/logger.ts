import pino, { type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs (one object per line) with the service name on every line. */
export function createLogger(service: string, level: string = 'info'): Logger {
  return pino({ level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } });
}

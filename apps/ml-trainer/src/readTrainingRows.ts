import { ContractError, type MlTrainSource } from '@pipeline/contracts';
import { BusError, type EventBus } from '@pipeline/kafka';
import { eventToRow } from './eventToRow';

/** Default look-back when `source.from` is absent: the last 24 hours before `to`. */
export const DEFAULT_LOOKBACK_MS = 24 * 3600 * 1000;
export const DEFAULT_SOURCE_LIMIT = 1_000_000;

export interface SourceWindow {
  topic: string;
  /** Inclusive, epoch ms. */
  fromMs: number;
  /** Exclusive, epoch ms. */
  toMs: number;
  limit: number;
}

/** Resolves `source` against the job's start time `nowMs` (recorded in the model's provenance). */
export function resolveSourceWindow(source: MlTrainSource, nowMs: number): SourceWindow {
  const toMs = source.to === undefined ? nowMs : timeOf(source.to, 'source.to');
  const fromMs = source.from === undefined ? toMs - DEFAULT_LOOKBACK_MS : timeOf(source.from, 'source.from');
  if (!(fromMs < toMs)) {
    throw new ContractError(`source.from must be before source.to, got ${new Date(fromMs).toISOString()} ≥ ${new Date(toMs).toISOString()}`, 'source.from');
  }
  return { topic: source.topic, fromMs, toMs, limit: source.limit ?? DEFAULT_SOURCE_LIMIT };
}

function timeOf(v: string | number, field: string): number {
  const ms = typeof v === 'number' ? v : Date.parse(v);
  if (!Number.isFinite(ms)) throw new ContractError(`${field} must be an ISO-8601 date-time or epoch milliseconds, got ${JSON.stringify(v)}`, field);
  return ms;
}

/**
 * Reads the events of `window` (record time in [fromMs, toMs)) and turns each into a row
 * (see eventToRow), stopping after `limit` rows. Messages that are not JSON objects are skipped
 * and counted. `onProgress` gets the fraction of the offset range scanned.
 */
export async function readTrainingRows(
  bus: EventBus,
  window: SourceWindow,
  onProgress: (fraction: number) => void,
  signal: AbortSignal,
): Promise<{ rows: Record<string, unknown>[]; skipped: number }> {
  const rows: Record<string, unknown>[] = [];
  let skipped = 0;
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await bus.readRange({
      topic: window.topic,
      fromMs: window.fromMs,
      toMs: window.toMs,
      signal: stop.signal,
      onBatch: (messages, progress) => {
        for (const m of messages) {
          if (rows.length >= window.limit) break;
          const row = eventToRow(m.value);
          if (row) rows.push(row);
          else skipped++;
        }
        onProgress(progress);
        if (rows.length >= window.limit) stop.abort(new Error('limit reached'));
      },
    });
  } catch (err) {
    // Reaching the limit cancels the read on purpose; a cancel from the caller is rethrown.
    if (!(err instanceof BusError && stop.signal.aborted && !signal.aborted)) throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  signal.throwIfAborted();
  return { rows, skipped };
}

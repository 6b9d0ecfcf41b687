import { ContractError, SkippedRecordsTally, type MlTrainSource, type SkippedRecords } from '@pipeline/contracts';
import { BusError, type EventBus } from '@pipeline/kafka';
import { MlInputError, readNumericField } from '@pipeline/ml';
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
  /** Field → value every used row must have (`source.filter`); empty = every event. */
  filter: ReadonlyMap<string, string | number | boolean>;
}

/** Which fields a row must hold as finite numbers to be trained on: the features, and the target of a regressor. */
export interface RowFields {
  featureKeys: readonly string[];
  targetKey?: string;
}

export interface TrainingRows {
  rows: Record<string, unknown>[];
  /** Records skipped: not a JSON object, or a feature/target field that is not a finite number. */
  skipped?: SkippedRecords;
  /** Events that did not match the filter. */
  filteredOut: number;
}

/** Resolves `source` against the job's start time `nowMs` (recorded in the model's provenance). */
export function resolveSourceWindow(source: MlTrainSource, nowMs: number): SourceWindow {
  const toMs = source.to === undefined ? nowMs : timeOf(source.to, 'source.to');
  const fromMs = source.from === undefined ? toMs - DEFAULT_LOOKBACK_MS : timeOf(source.from, 'source.from');
  if (!(fromMs < toMs)) {
    throw new ContractError(`source.from must be before source.to, got ${new Date(fromMs).toISOString()} ≥ ${new Date(toMs).toISOString()}`, 'source.from');
  }
  return { topic: source.topic, fromMs, toMs, limit: source.limit ?? DEFAULT_SOURCE_LIMIT, filter: new Map(Object.entries(source.filter ?? {})) };
}

function timeOf(v: string | number, field: string): number {
  const ms = typeof v === 'number' ? v : Date.parse(v);
  if (!Number.isFinite(ms)) throw new ContractError(`${field} must be an ISO-8601 date-time or epoch milliseconds, got ${JSON.stringify(v)}`, field);
  return ms;
}

/**
 * Reads the events of `window` (record time in [fromMs, toMs)) and turns each into a row (see
 * eventToRow), stopping after `limit` rows. An event whose row does not have every `filter` field equal
 * to its value is left out (counted in `filteredOut`); a record that is not a JSON object, or whose
 * row lacks a finite number in a feature or target field (same rule as training: numbers and strict
 * numeric strings), is skipped and tallied with its reason — one bad record never fails the job.
 * `onProgress` gets the fraction of the offset range scanned.
 */
export async function readTrainingRows(
  bus: EventBus,
  window: SourceWindow,
  fields: RowFields,
  onProgress: (fraction: number) => void,
  signal: AbortSignal,
): Promise<TrainingRows> {
  const rows: Record<string, unknown>[] = [];
  const skipped = new SkippedRecordsTally();
  let filteredOut = 0;
  const numericKeys = fields.targetKey === undefined ? [...fields.featureKeys] : [...fields.featureKeys, fields.targetKey];
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await bus.readRange({
      name: 'pipeline-ml-training-data',
      topic: window.topic,
      fromMs: window.fromMs,
      toMs: window.toMs,
      signal: stop.signal,
      onBatch: (messages, progress) => {
        for (const m of messages) {
          if (rows.length >= window.limit) break;
          const at = { topic: m.topic, partition: m.partition, offset: m.offset };
          const row = eventToRow(m.value);
          if (!row) {
            skipped.add(at, 'record is not a JSON object');
            continue;
          }
          if (!matches(row, window.filter)) {
            filteredOut++;
            continue;
          }
          const problem = unusable(row, numericKeys);
          if (problem !== undefined) skipped.add(at, problem);
          else rows.push(row);
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
  const report = skipped.report();
  return { rows, filteredOut, ...(report ? { skipped: report } : {}) };
}

function matches(row: Record<string, unknown>, filter: ReadonlyMap<string, unknown>): boolean {
  for (const [field, value] of filter) if (!Object.hasOwn(row, field) || row[field] !== value) return false;
  return true;
}

/** Why the row cannot be trained on (`value must be a finite number, got "abc"`), or undefined. */
function unusable(row: Record<string, unknown>, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    try {
      readNumericField(row, key, 0, true);
    } catch (e) {
      if (e instanceof MlInputError) return e.message.replace(/^rows\[0\]\./, '');
      throw e;
    }
  }
  return undefined;
}

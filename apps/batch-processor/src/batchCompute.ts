import { SkippedRecordsTally, type BatchPartialRecord } from '@pipeline/contracts';
import { BatchInputError, compileEventCheck, createBatchRun, finishBatch, mergeBatchPartials, readBatchRequest } from '@pipeline/batch';

/**
 * A Kafka batch of a source range as one buffer (so it crosses to a worker thread as one transfer,
 * not one copy of a shared fetch buffer per record): record i's value is bytes[ends[i-1] ?? 0, ends[i]).
 */
export interface RecordBatch {
  bytes: Uint8Array;
  ends: number[];
  timestampsMs: number[];
  offsets: string[];
}

/** Packs records (`value`, `timestampMs`, `offset`, as an IncomingMessage has them) into a RecordBatch. */
export function packRecords(messages: ReadonlyArray<{ value: Uint8Array; timestampMs: number; offset: string }>): RecordBatch {
  let total = 0;
  for (const m of messages) total += m.value.length;
  const bytes = new Uint8Array(total);
  const ends: number[] = [];
  let at = 0;
  for (const m of messages) {
    bytes.set(m.value, at);
    at += m.value.length;
    ends.push(at);
  }
  return { bytes, ends, timestampsMs: messages.map((m) => m.timestampMs), offsets: messages.map((m) => m.offset) };
}

/** What a task's run ends with: its partial and what it skipped. */
export type TaskOutcome = Pick<BatchPartialRecord, 'partial' | 'skipped'>;

/** How the event checks name a record of a source range; stripped from the skip reasons. */
const RECORD_LABEL = 'record';

/** `record[12].value must be …` → `value must be …`; `record[12] must be an event object …` → `record must be an event object …`. */
function withoutRecordIndex(message: string): string {
  return message.replace(/^record\[\d+\]\./, '').replace(/^record\[\d+\]/, 'record');
}

/** The event time lookup of the batch operations: `timestamp` at the top level, else in `payload` (null = absent). */
function hasTimestamp(event: Record<string, unknown>): boolean {
  const own = (o: unknown) => o !== null && typeof o === 'object' && Object.hasOwn(o, 'timestamp') && (o as Record<string, unknown>)['timestamp'] != null;
  return own(event) || own(event['payload']);
}

/** An inline job (events, or left + right) from its request to its result; throws BatchInputError on bad input. */
export function computeInline(request: Record<string, unknown>): { result: unknown; read: number } {
  const { options, input } = readBatchRequest(request);
  const run = createBatchRun(options);
  if (input.kind === 'events') run.add(input.events);
  else if (input.kind === 'join_events') {
    run.add(input.left, 'left');
    run.add(input.right, 'right');
  } else throw new BatchInputError('source', 'is read by tasks, not inline');
  const read = input.kind === 'events' ? input.events.length : input.left.length + input.right.length;
  return { result: finishBatch(options, run.partial()), read };
}

/** Merges the partials of every task (in task order) and finishes the job; throws BatchInputError on bad input. */
export function computeFinish(request: Record<string, unknown>, partials: readonly unknown[]): unknown {
  const { options } = readBatchRequest(request);
  return finishBatch(options, mergeBatchPartials(options, partials));
}

/**
 * One task's run over its partition range, fed a Kafka batch at a time. A record the operation
 * cannot read (not JSON, not an object, a value that is not a finite number, a bad time or group) is
 * skipped and tallied, never fatal; a record without a `timestamp` (top level or payload) gets its
 * Kafka record timestamp, as the aggregator and the trainer use it.
 */
export function createTaskRun(request: Record<string, unknown>, at: { topic: string; partition: number; side?: 'left' | 'right' }) {
  const { options } = readBatchRequest(request);
  const run = createBatchRun(options);
  const check = compileEventCheck(options, RECORD_LABEL);
  const skipped = new SkippedRecordsTally();
  const decoder = new TextDecoder();
  return {
    add(batch: RecordBatch): void {
      const events: unknown[] = [];
      for (let i = 0; i < batch.ends.length; i++) {
        const where = { topic: at.topic, partition: at.partition, offset: batch.offsets[i]! };
        let event: unknown;
        try {
          event = JSON.parse(decoder.decode(batch.bytes.subarray(i === 0 ? 0 : batch.ends[i - 1]!, batch.ends[i]!)));
        } catch {
          skipped.add(where, 'record is not JSON');
          continue;
        }
        if (event !== null && typeof event === 'object' && !Array.isArray(event) && !hasTimestamp(event as Record<string, unknown>)) {
          (event as Record<string, unknown>)['timestamp'] = batch.timestampsMs[i]!;
        }
        const problem = check(event, i);
        if (problem) skipped.add(where, withoutRecordIndex(problem.message));
        else events.push(event);
      }
      run.add(events, at.side);
    },
    end(): TaskOutcome {
      const report = skipped.report();
      return { partial: run.partial(), ...(report ? { skipped: report } : {}) };
    },
  };
}

import type { Worker } from 'node:worker_threads';
import { BatchInputError } from '@pipeline/batch';
import { createWorkerCalls } from '@pipeline/service-runtime';
import { computeFinish, computeInline, createTaskRun, type RecordBatch, type TaskOutcome } from './batchCompute';
import { BatchJobFailure } from './errors';

/** A task's run inside a ComputeRunner: fed a Kafka batch at a time, ended once. */
export interface TaskRunHandle {
  add(batch: RecordBatch): Promise<void>;
  end(): Promise<TaskOutcome>;
}

/**
 * Where batch jobs compute: inline (on the event loop; tests and embedded mode) or in a worker
 * thread (the service). Bad input rejects with BatchInputError; a worker that dies rejects with
 * BatchJobFailure (not retriable: the same job would kill it again).
 */
export interface ComputeRunner {
  inline(request: Record<string, unknown>): Promise<{ result: unknown; read: number }>;
  finish(request: Record<string, unknown>, partials: unknown[]): Promise<unknown>;
  openTask(request: Record<string, unknown>, at: { topic: string; partition: number; side?: 'left' | 'right' }): Promise<TaskRunHandle>;
  close(): Promise<void>;
}

/** The computations on the calling thread. */
export function createInlineCompute(): ComputeRunner {
  return {
    inline: async (request) => computeInline(request),
    finish: async (request, partials) => computeFinish(request, partials),
    async openTask(request, at) {
      const run = createTaskRun(request, at);
      return { add: async (batch) => run.add(batch), end: async () => run.end() };
    },
    close: async () => {},
  };
}

/** A call to compute.worker. */
export type ComputeRequest =
  | { op: 'inline'; request: Record<string, unknown> }
  | { op: 'finish'; request: Record<string, unknown>; partials: unknown[] }
  | { op: 'open'; run: number; request: Record<string, unknown>; at: { topic: string; partition: number; side?: 'left' | 'right' } }
  | { op: 'add'; run: number; batch: RecordBatch }
  | { op: 'end'; run: number };

/**
 * The computations in one long-lived worker thread (`spawn` starts compute.worker), one request at a
 * time in order, so the event loop stays free while a job computes. `onBusy(+1 / −1)` brackets every
 * request (the service's pipeline_batch_computations_running gauge). A worker that exits or fails
 * rejects what it held and is replaced at the next request; the runs it held are gone with it.
 */
export function createWorkerCompute(spawn: () => Worker, onBusy: (delta: number) => void = () => {}): ComputeRunner {
  let nextRun = 1;
  const worker = createWorkerCalls<ComputeRequest>({
    spawn,
    onBusy,
    errorOf: (f) => (f.name === 'BatchInputError' && f.field !== undefined ? new BatchInputError(f.field, f.message.slice(f.field.length + 1)) : new BatchJobFailure(f.message)),
    lost: (why) => new BatchJobFailure(`batch compute worker ${why}`),
  });
  return {
    inline: (request) => worker.call({ op: 'inline', request }),
    finish: (request, partials) => worker.call({ op: 'finish', request, partials }),
    async openTask(request, at) {
      const run = nextRun++;
      await worker.call({ op: 'open', run, request, at });
      return {
        add: (batch) => worker.call({ op: 'add', run, batch }, [batch.bytes.buffer as ArrayBuffer]),
        end: () => worker.call({ op: 'end', run }),
      };
    },
    close: () => worker.close(),
  };
}

import type { Worker } from 'node:worker_threads';
import { BatchInputError } from '@pipeline/batch';
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

export type ComputeRequest =
  | { id: number; op: 'inline'; request: Record<string, unknown> }
  | { id: number; op: 'finish'; request: Record<string, unknown>; partials: unknown[] }
  | { id: number; op: 'open'; run: number; request: Record<string, unknown>; at: { topic: string; partition: number; side?: 'left' | 'right' } }
  | { id: number; op: 'add'; run: number; batch: RecordBatch }
  | { id: number; op: 'end'; run: number };

export type ComputeReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; name: string; message: string; field?: string };

type Body = ComputeRequest extends infer R ? (R extends ComputeRequest ? Omit<R, 'id'> : never) : never;

/**
 * The computations in one long-lived worker thread (`spawn` starts compute.worker), one request at a
 * time in order, so the event loop stays free while a job computes. `onBusy(+1 / −1)` brackets every
 * request (the service's pipeline_batch_computations_running gauge). A worker that exits or fails
 * rejects what it held and is replaced at the next request; the runs it held are gone with it.
 */
export function createWorkerCompute(spawn: () => Worker, onBusy: (delta: number) => void = () => {}): ComputeRunner {
  let worker: Worker | undefined;
  let nextId = 1;
  let nextRun = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  const failAll = (why: string) => {
    worker = undefined;
    for (const p of pending.values()) p.reject(new BatchJobFailure(`batch compute worker ${why}`));
    pending.clear();
  };
  const started = () => {
    if (worker) return worker;
    const w = spawn();
    w.on('message', (m: ComputeReply) => {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else if (m.name === 'BatchInputError' && m.field !== undefined) p.reject(new BatchInputError(m.field, m.message.slice(m.field.length + 1)));
      else p.reject(new BatchJobFailure(m.message));
    });
    w.on('error', (err) => worker === w && failAll(`crashed: ${err.message}`));
    w.on('exit', (code) => worker === w && failAll(`exited with code ${code}`));
    w.unref();
    worker = w;
    return w;
  };
  const call = <T>(body: Body, transfer: ArrayBuffer[] = []): Promise<T> => {
    const id = nextId++;
    onBusy(1);
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      started().postMessage({ ...body, id } as ComputeRequest, transfer);
    }).finally(() => onBusy(-1));
  };
  return {
    inline: (request) => call({ op: 'inline', request }),
    finish: (request, partials) => call({ op: 'finish', request, partials }),
    async openTask(request, at) {
      const run = nextRun++;
      await call({ op: 'open', run, request, at });
      return {
        add: (batch) => call({ op: 'add', run, batch }, [batch.bytes.buffer as ArrayBuffer]),
        end: () => call({ op: 'end', run }),
      };
    },
    async close() {
      const w = worker;
      worker = undefined;
      await w?.terminate();
    },
  };
}

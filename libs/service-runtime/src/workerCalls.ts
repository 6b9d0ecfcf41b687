import { parentPort, type Worker } from 'node:worker_threads';

/** A thrown error as it crosses the thread boundary (its class does not): rebuild it with `errorOf`. */
export interface WorkerFailure {
  name: string;
  message: string;
  /** The `field` of input errors (e.g. MlInputError, BatchInputError), when the error had one. */
  field?: string;
}

type CallMessage<Req> = { id: number; request: Req };
type ReplyMessage = { id: number; ok: true; value: unknown } | { id: number; ok: false; failure: WorkerFailure };

export interface WorkerCalls<Req> {
  /** Runs `request` in the worker; resolves with what its handler returned, rejects with `errorOf` of what it threw. */
  call<T>(request: Req, transfer?: ArrayBuffer[]): Promise<T>;
  /** Terminates the worker; calls made afterwards start a new one. */
  close(): Promise<void>;
}

export interface WorkerCallsOptions {
  /** Starts the worker thread, whose entry calls `answerWorkerCalls`. */
  spawn(): Worker;
  /** The error a call rejects with when the worker's handler threw. */
  errorOf(failure: WorkerFailure): Error;
  /** The error of calls held by a worker that crashed or exited (`why` says which). */
  lost(why: string): Error;
  /** Called with +1 when a call is sent and −1 when it settles (e.g. a gauge of running computations). */
  onBusy?(delta: number): void;
}

/**
 * Calls into one long-lived worker thread, so that CPU-bound work leaves the event loop free for
 * Kafka heartbeats and HTTP. The worker answers one call at a time, in order (it is one thread); the
 * others queue in its message port. A worker that exits or crashes rejects the calls it held with
 * `lost(why)` and is replaced at the next call. The worker does not keep the process alive.
 */
export function createWorkerCalls<Req>(opts: WorkerCallsOptions): WorkerCalls<Req> {
  let worker: Worker | undefined;
  let nextId = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  const failAll = (why: string) => {
    worker = undefined;
    for (const p of pending.values()) p.reject(opts.lost(why));
    pending.clear();
  };
  const started = () => {
    if (worker) return worker;
    const w = opts.spawn();
    w.on('message', (m: ReplyMessage) => {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(opts.errorOf(m.failure));
    });
    w.on('error', (err) => worker === w && failAll(`crashed: ${err.message}`));
    w.on('exit', (code) => worker === w && failAll(`exited with code ${code}`));
    w.unref();
    worker = w;
    return w;
  };
  return {
    call<T>(request: Req, transfer: ArrayBuffer[] = []): Promise<T> {
      const id = nextId++;
      opts.onBusy?.(1);
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        started().postMessage({ id, request } satisfies CallMessage<Req>, transfer);
      }).finally(() => opts.onBusy?.(-1));
    },
    async close() {
      const w = worker;
      worker = undefined;
      await w?.terminate();
    },
  };
}

/** The worker side of `createWorkerCalls`: answers each call with what `handle(request)` returns or throws. */
export function answerWorkerCalls<Req>(handle: (request: Req) => unknown): void {
  parentPort!.on('message', ({ id, request }: CallMessage<Req>) => {
    let reply: ReplyMessage;
    try {
      reply = { id, ok: true, value: handle(request) };
    } catch (err) {
      const e = err as Error & { field?: unknown };
      reply = { id, ok: false, failure: { name: e?.name ?? 'Error', message: e?.message ?? String(err), ...(typeof e?.field === 'string' ? { field: e.field } : {}) } };
    }
    parentPort!.postMessage(reply);
  });
}

import type { Worker } from 'node:worker_threads';
import { PipelineError } from '@pipeline/contracts';
import { ModelFormatError, decodeModel, fromTransferable, type TrainedModel, type TransferableModel } from '@pipeline/ml';

/** Where a model version was decoded: in the decode worker, or on the main thread (the inline decoder only). */
export type DecodeThread = 'worker' | 'main';

/**
 * Turns registry bytes into a model. Decoding a 100-tree forest takes 25–110 ms of CPU, so the
 * service does it in a worker thread (`createWorkerDecoder`) and the event loop keeps answering
 * calls meanwhile; `createInlineDecoder` decodes on the main thread (unit tests, and embedded mode
 * before a build, where no worker bundle exists).
 * Rejects with `ModelFormatError` for a bad model file.
 */
export interface ModelDecoder {
  decode(bytes: Uint8Array): Promise<{ model: TrainedModel; thread: DecodeThread }>;
  close(): Promise<void>;
}

/** Parent → decode worker. `bytes` is a private copy whose buffer is transferred. */
export interface DecodeRequest {
  id: number;
  bytes: Uint8Array;
}

/** Decode worker → parent. A decoded model's arrays are transferred, not copied. */
export type DecodeReply = { id: number; ok: true; model: TransferableModel } | { id: number; ok: false; name: string; message: string };

export function createInlineDecoder(): ModelDecoder {
  return {
    decode: async (bytes) => ({ model: decodeModel(bytes), thread: 'main' }),
    close: async () => undefined,
  };
}

/**
 * Heap limits of the decode worker (V8 `resourceLimits`, MB). A model file's header is at most
 * 4 MiB and its typed arrays live outside the heap, so 128 MB of old generation decodes any file
 * `decodeModel` accepts; a worker that needs more is ended by V8 (ERR_WORKER_OUT_OF_MEMORY) and
 * the version it held fails — the service's own heap is never at stake.
 */
export const DEFAULT_DECODE_LIMITS: DecodeResourceLimits = { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 16 };

export interface DecodeResourceLimits {
  maxOldGenerationSizeMb: number;
  maxYoungGenerationSizeMb: number;
}

/** A version the decode worker could not decode for a reason other than its file: it ran out of memory or time, or died. */
export class ModelDecodeError extends PipelineError {
  constructor(
    message: string,
    readonly reason: 'timeout' | 'worker_failed',
  ) {
    super('model_decode_failed', message);
  }
}

interface Pending {
  bytes: Uint8Array;
  resolve(value: { model: TrainedModel; thread: DecodeThread }): void;
  reject(err: Error): void;
}

export interface WorkerDecoderOptions {
  /** Starts a decode worker (decode.worker.js) with these heap limits; called on first use and after a worker failed. */
  spawn(resourceLimits: DecodeResourceLimits): Worker;
  /** Heap limits handed to `spawn`. Default DEFAULT_DECODE_LIMITS. */
  resourceLimits?: DecodeResourceLimits;
  /** Longest one version may take to decode (ms, from when the worker starts on it); then the worker is ended and the version fails. Default 30,000. */
  timeoutMs?: number;
  /** The worker failed (could not start, crashed, ran out of memory or time); the version it held has failed. */
  onWorkerFailure?(err: Error): void;
}

/**
 * Decodes in one long-lived worker (`spawn()`, started on first use), one version at a time, in
 * the order they were asked for. The main thread never decodes: when the worker fails — cannot
 * start, crashes, exceeds its `resourceLimits`, or takes longer than `timeoutMs` on one version
 * (it is then terminated) — the version it was decoding is rejected with a ModelDecodeError (the
 * catalog reports it and keeps serving what it has), `onWorkerFailure` is told, and the next
 * version starts a fresh worker. (Falling back to the main thread let one hostile file take the
 * whole service down: heap out of memory, then a crash loop at every restart.)
 */
export function createWorkerDecoder(opts: WorkerDecoderOptions): ModelDecoder {
  const limits = opts.resourceLimits ?? DEFAULT_DECODE_LIMITS;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let worker: Worker | undefined;
  let closed = false;
  let nextId = 1;
  const queue: Pending[] = [];
  let current: { id: number; p: Pending; timer: NodeJS.Timeout } | undefined;

  const finish = (): Pending | undefined => {
    const c = current;
    if (!c) return undefined;
    clearTimeout(c.timer);
    current = undefined;
    return c.p;
  };

  /** The worker is gone (or must go): the version in hand fails, the next one gets a new worker. */
  const fail = (w: Worker | undefined, err: Error) => {
    if (w !== undefined && worker !== w) return; // 'exit' follows 'error'; handle the first
    worker = undefined;
    if (w) void w.terminate().catch(() => undefined);
    const p = finish();
    if (closed) return;
    opts.onWorkerFailure?.(err);
    p?.reject(err);
    pump();
  };

  const start = (): Worker => {
    const w = opts.spawn(limits);
    w.on('message', (m: DecodeReply) => {
      if (worker !== w || current?.id !== m.id) return;
      const p = finish()!;
      if (!m.ok) p.reject(m.name === 'ModelFormatError' ? new ModelFormatError(m.message) : new Error(`model decode failed: ${m.message}`));
      else {
        try {
          p.resolve({ model: fromTransferable(m.model), thread: 'worker' });
        } catch (err) {
          p.reject(err as Error);
        }
      }
      pump();
    });
    w.on('error', (err: Error & { code?: string }) =>
      fail(w, new ModelDecodeError(err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `model decode worker ran out of memory (heap limit ${limits.maxOldGenerationSizeMb} MB)` : `model decode worker failed: ${err.message}`, 'worker_failed')),
    );
    w.on('exit', (code) => fail(w, new ModelDecodeError(`model decode worker exited with code ${code}`, 'worker_failed')));
    return w;
  };

  /** Sends the next queued version to the worker, if it is idle. */
  const pump = () => {
    if (closed || current || queue.length === 0) {
      if (!current) worker?.unref(); // an idle decoder never keeps the process alive
      return;
    }
    const p = queue.shift()!;
    const id = nextId++;
    const timer = setTimeout(() => fail(worker, new ModelDecodeError(`model decode took longer than ${timeoutMs} ms; the decode worker was stopped`, 'timeout')), timeoutMs);
    current = { id, p, timer };
    try {
      worker ??= start();
      worker.ref(); // a decode in flight keeps the process alive until it is answered
      // A copy: the caller's bytes stay usable (a version is retried from them after a failure elsewhere).
      const copy = new Uint8Array(p.bytes);
      const request: DecodeRequest = { id, bytes: copy };
      worker.postMessage(request, [copy.buffer]);
    } catch (err) {
      fail(worker, new ModelDecodeError(`model decode worker could not start: ${(err as Error).message}`, 'worker_failed'));
    }
  };

  return {
    decode(bytes) {
      if (closed) return Promise.reject(new Error('model decoder closed'));
      return new Promise((resolve, reject) => {
        queue.push({ bytes, resolve, reject });
        pump();
      });
    },
    async close() {
      closed = true;
      const held = [finish(), ...queue.splice(0)];
      for (const p of held) p?.reject(new Error('model decoder closed'));
      const w = worker;
      worker = undefined;
      if (w) await w.terminate();
    },
  };
}

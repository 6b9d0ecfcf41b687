import type { Worker } from 'node:worker_threads';
import { ModelFormatError, decodeModel, fromTransferable, type TrainedModel, type TransferableModel } from '@pipeline/ml';
import type { ThreadPriorityResult } from '@pipeline/threads';

/** Where a model version was decoded: in the decode worker, or on the main thread. */
export type DecodeThread = 'worker' | 'main';

/**
 * Turns registry bytes into a model. Decoding a 100-tree forest takes 25–110 ms of CPU, so the
 * service does it in a worker thread (`createWorkerDecoder`) and the event loop keeps answering
 * calls meanwhile; `createInlineDecoder` decodes on the main thread (tests, embedded fallback).
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

/** What decode.worker.ts is started with: the nice value to lower its thread to (0 = leave it). */
export interface DecodeWorkerData {
  nice: number;
}

/** Decode worker → parent. A decoded model's arrays are transferred, not copied. */
export type DecodeReply = { id: number; ok: true; model: TransferableModel } | { id: number; ok: false; name: string; message: string };

/** The decode worker's first message: what lowering its CPU priority did (sent only when asked to, nice > 0). */
export interface DecodeWorkerStarted {
  priority: ThreadPriorityResult;
}

export function createInlineDecoder(): ModelDecoder {
  return {
    decode: async (bytes) => ({ model: decodeModel(bytes), thread: 'main' }),
    close: async () => undefined,
  };
}

interface Pending {
  bytes: Uint8Array;
  resolve(value: { model: TrainedModel; thread: DecodeThread }): void;
  reject(err: Error): void;
}

/**
 * Decodes in one long-lived worker (`spawn()`, started on first use). One worker handles the
 * requests in the order they were sent, so results arrive in that order too. Nothing is lost if
 * the worker fails (cannot start, crashes, exits): the versions it held are decoded on the main
 * thread, `onWorkerFailure` is told, and the next request starts a fresh worker.
 */
export function createWorkerDecoder(opts: { spawn(): Worker; onWorkerFailure?(err: Error): void; onWorkerPriority?(result: ThreadPriorityResult): void }): ModelDecoder {
  let worker: Worker | undefined;
  let closed = false;
  let nextId = 1;
  const pending = new Map<number, Pending>();

  const decodeHere = (p: Pending) => {
    try {
      p.resolve({ model: decodeModel(p.bytes), thread: 'main' });
    } catch (err) {
      p.reject(err as Error);
    }
  };

  const start = (): Worker => {
    const w = opts.spawn();
    const fail = (err: Error) => {
      if (worker !== w) return; // 'exit' follows 'error'; handle the first
      worker = undefined;
      const held = [...pending.values()];
      pending.clear();
      if (closed) {
        for (const p of held) p.reject(new Error('model decoder closed'));
        return;
      }
      opts.onWorkerFailure?.(err);
      for (const p of held) decodeHere(p); // in the order they were sent
    };
    w.on('message', (m: DecodeReply | DecodeWorkerStarted) => {
      if ('priority' in m) {
        opts.onWorkerPriority?.(m.priority);
        return;
      }
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (pending.size === 0) w.unref(); // an idle decoder never keeps the process alive
      if (!m.ok) {
        p.reject(m.name === 'ModelFormatError' ? new ModelFormatError(m.message) : new Error(`model decode failed: ${m.message}`));
        return;
      }
      try {
        p.resolve({ model: fromTransferable(m.model), thread: 'worker' });
      } catch (err) {
        p.reject(err as Error);
      }
    });
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`model decode worker exited with code ${code}`)));
    return w;
  };

  return {
    decode(bytes) {
      if (closed) return Promise.reject(new Error('model decoder closed'));
      return new Promise((resolve, reject) => {
        const id = nextId++;
        const p: Pending = { bytes, resolve, reject };
        pending.set(id, p);
        try {
          worker ??= start();
          worker.ref(); // a decode in flight keeps the process alive until it is answered
          // A copy: the caller's bytes stay usable (and are what a main-thread fallback decodes).
          const copy = new Uint8Array(bytes);
          const request: DecodeRequest = { id, bytes: copy };
          worker.postMessage(request, [copy.buffer]);
        } catch (err) {
          pending.delete(id);
          opts.onWorkerFailure?.(err as Error);
          decodeHere(p);
        }
      });
    },
    async close() {
      closed = true;
      const w = worker;
      if (w) await w.terminate();
    },
  };
}

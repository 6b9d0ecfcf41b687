// Worker-thread entry of ml-predictor (bundled to dist/apps/ml-predictor/decode.worker.js): decodes
// registry bytes into a model — the forests' prediction layouts included — and hands the arrays
// back transferred, so the main thread only wraps them (see ModelDecoder.ts).
import { parentPort } from 'node:worker_threads';
import { decodeModel, toTransferable } from '@pipeline/ml';
import type { DecodeReply, DecodeRequest } from './ModelDecoder';

parentPort!.on('message', ({ id, bytes }: DecodeRequest) => {
  let reply: DecodeReply;
  let transfer: ArrayBuffer[] = [];
  try {
    // Serving only: the predictor never re-encodes a model, and a forest's flat nodes are 10× its layout.
    const t = toTransferable(decodeModel(bytes), { servingOnly: true });
    reply = { id, ok: true, model: t.model };
    transfer = t.transfer;
  } catch (err) {
    const e = err as Error;
    reply = { id, ok: false, name: e?.name ?? 'Error', message: e?.message ?? String(err) };
  }
  parentPort!.postMessage(reply, transfer);
});

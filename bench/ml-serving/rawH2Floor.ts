// PROTOTYPE, bench only (BENCH_FLOOR=raw-h2): the floor's no-op Predict served by a minimal HTTP/2
// server of our own on a plain net.Socket instead of node:http2 — frames parsed here, request header
// blocks decoded with hpack.js, the response headers and trailers sent as constant HPACK blocks, the
// three response frames written with one socket write. It measures what node:http2's per-stream
// objects cost (CPU per call and the mark-compacts they cause; BENCHMARKS.md, session 7). It is NOT
// a server to deploy: it ignores the peer's flow-control windows and frame-size setting when sending
// (one-row answers are ~50 bytes), answers every path as Predict, relays nothing to grpc-js, and
// handles protocol errors by dropping the connection.
import { createServer, type Server } from 'node:net';
import { PredictorServiceService, grpcFrame } from '@pipeline/proto';

interface HpackHeader {
  name: string;
  value: string;
}
interface HpackDecompressor {
  write(chunk: Buffer): void;
  execute(): void;
  read(): HpackHeader | null;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const hpack = require('hpack.js') as { decompressor: { create(opts: { table: { size: number } }): HpackDecompressor } };

const PREFACE_LENGTH = 24; // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(stream, 5);
  payload.copy(out, 9);
  return out;
}
/** An HPACK "literal header field without indexing — new name" with short, non-Huffman strings. */
const literal = (name: string, value: string) => Buffer.concat([Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
// :status 200 is static entry 8; content-type (static 31) as a literal with an indexed name (4-bit prefix: 0x0f 0x10).
const RESPONSE_HEADERS = Buffer.concat([Buffer.from([0x88, 0x0f, 0x10, 22]), Buffer.from('application/grpc+proto'), literal('grpc-accept-encoding', 'identity')]);
const TRAILERS = Buffer.concat([literal('grpc-status', '0'), literal('grpc-message', 'OK')]);
// MAX_CONCURRENT_STREAMS (3) = 1000, INITIAL_WINDOW_SIZE (4) = 1 MiB
const SETTINGS = Buffer.from([0, 3, 0, 0, 0x03, 0xe8, 0, 4, 0, 0x10, 0, 0]);

/** Listens on 127.0.0.1:`port`; resolves with the server once bound. */
export function startRawH2Floor(port: number): Promise<Server> {
  const predict = PredictorServiceService.predict;
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    const decoder = hpack.decompressor.create({ table: { size: 4096 } });
    const streams = new Map<number, Buffer[]>();
    let pending: Buffer = Buffer.alloc(0);
    let prefaceSeen = false;
    let unacknowledged = 0; // DATA bytes received since the last connection WINDOW_UPDATE
    let block: Buffer[] = [];
    let blockStream = 0;
    let blockEndsStream = false;
    socket.write(frame(FRAME.SETTINGS, 0, 0, SETTINGS));

    const answer = (id: number) => {
      const chunks = streams.get(id);
      streams.delete(id);
      if (!chunks) return;
      const body = Buffer.concat(chunks);
      const request = predict.requestDeserialize(body.subarray(5));
      const message = predict.responseSerialize({ predictions: [0], modelName: request.modelName, modelVersion: 1 });
      socket.write(Buffer.concat([frame(FRAME.HEADERS, FLAG.END_HEADERS, id, RESPONSE_HEADERS), frame(FRAME.DATA, 0, id, grpcFrame(message)), frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, id, TRAILERS)]));
    };
    const headersDone = () => {
      decoder.write(Buffer.concat(block));
      decoder.execute();
      while (decoder.read()); // the prototype answers every path as Predict
      block = [];
      streams.set(blockStream, []);
      if (blockEndsStream) answer(blockStream);
    };

    socket.on('data', (chunk: Buffer) => {
      pending = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
      let at = 0;
      if (!prefaceSeen) {
        if (pending.length < PREFACE_LENGTH) return;
        prefaceSeen = true;
        at = PREFACE_LENGTH;
      }
      const replies: Buffer[] = [];
      while (pending.length - at >= 9) {
        const length = pending.readUIntBE(at, 3);
        if (pending.length - at < 9 + length) break;
        const type = pending[at + 3]!;
        const flags = pending[at + 4]!;
        const id = pending.readUInt32BE(at + 5) & 0x7fffffff;
        let payload = pending.subarray(at + 9, at + 9 + length);
        at += 9 + length;
        if ((type === FRAME.DATA || type === FRAME.HEADERS) && flags & FLAG.PADDED) payload = payload.subarray(1, payload.length - payload[0]!);
        if (type === FRAME.DATA) {
          unacknowledged += length;
          streams.get(id)?.push(payload);
          if (flags & FLAG.END_STREAM) answer(id);
        } else if (type === FRAME.HEADERS) {
          if (flags & FLAG.PRIORITY) payload = payload.subarray(5);
          block.push(payload);
          blockStream = id;
          blockEndsStream = (flags & FLAG.END_STREAM) !== 0;
          if (flags & FLAG.END_HEADERS) headersDone();
        } else if (type === FRAME.CONTINUATION) {
          block.push(payload);
          if (flags & FLAG.END_HEADERS) headersDone();
        } else if (type === FRAME.SETTINGS && !(flags & FLAG.ACK)) replies.push(frame(FRAME.SETTINGS, FLAG.ACK, 0, Buffer.alloc(0)));
        else if (type === FRAME.PING && !(flags & FLAG.ACK)) replies.push(frame(FRAME.PING, FLAG.ACK, 0, Buffer.from(payload)));
        else if (type === FRAME.RST_STREAM) streams.delete(id);
        else if (type === FRAME.GOAWAY) socket.end();
      }
      pending = at === pending.length ? Buffer.alloc(0) : pending.subarray(at);
      if (unacknowledged > 32_768) {
        const increment = Buffer.allocUnsafe(4);
        increment.writeUInt32BE(unacknowledged);
        replies.push(frame(FRAME.WINDOW_UPDATE, 0, 0, increment)); // on the connection
        unacknowledged = 0;
      }
      if (replies.length > 0) socket.write(Buffer.concat(replies));
    });
    socket.on('error', () => socket.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

// One side of h2retention.bench.ts, run as its own process under --trace-gc-nvp so that its GC trace
// is its own:
//   node h2retention.child.js server-h2 <port>        node:http2 server answering every stream like a unary gRPC call
//   node h2retention.child.js server-raw-h2 <port>    the same answer from the bench-only prototype without node:http2
//   node h2retention.child.js server-tcp <port>       net.Server answering each request with 50 bytes
//   node h2retention.child.js client-h2 <port> <rate> <seconds>    node:http2 client, one stream per call
//   node h2retention.child.js client-tcp <port> <rate> <seconds>   one request at a time per call over one socket
// Servers print "listening <port>" and run until SIGTERM; clients print "calls <n> failed <m>" and exit.
import http2 from 'node:http2';
import { createConnection, createServer } from 'node:net';
import { PredictRequest, grpcFrame } from '@pipeline/proto';
import { startRawH2Floor } from './rawH2Floor';

const [role, portArg, rateArg, secondsArg] = process.argv.slice(2);
const port = Number(portArg);
// A one-row Predict request (the raw-h2 prototype decodes it) and a one-prediction-sized answer.
const REQUEST = grpcFrame(PredictRequest.encode(PredictRequest.fromPartial({ modelName: 'bench', values: Array.from({ length: 10 }, (_, i) => i / 10), nFeatures: 10 })).finish());
const ANSWER = grpcFrame(Buffer.alloc(45, 2));

function serveH2(): void {
  const server = http2.createServer();
  server.on('stream', (stream) => {
    stream.on('error', () => undefined);
    stream.on('data', () => undefined);
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc+proto' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'OK' }));
      stream.end(ANSWER);
    });
  });
  server.listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
  process.on('SIGTERM', () => process.exit(0));
}

function serveTcp(): void {
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    let received = 0;
    socket.on('data', (d: Buffer) => {
      received += d.length; // requests may arrive coalesced: one answer per whole request
      for (; received >= REQUEST.length; received -= REQUEST.length) socket.write(ANSWER);
    });
  });
  server.listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
  process.on('SIGTERM', () => process.exit(0));
}

/** Calls `call` at `rate` per second for `seconds` (open loop, paced by a 1 ms timer), then reports. */
function paced(rate: number, seconds: number, call: (done: (ok: boolean) => void) => void, close: () => void): void {
  let sent = 0;
  let finished = 0;
  let failed = 0;
  const total = Math.round(rate * seconds);
  const started = Date.now();
  const done = (ok: boolean) => {
    finished++;
    if (!ok) failed++;
    if (finished === total) {
      console.log(`calls ${finished} failed ${failed}`);
      close();
    }
  };
  const tick = () => {
    const due = Math.min(total, Math.floor(((Date.now() - started) * rate) / 1000));
    while (sent < due) {
      sent++;
      call(done);
    }
    if (sent < total) setTimeout(tick, 1);
  };
  tick();
}

function clientH2(rate: number, seconds: number): void {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', (e) => {
    console.error(`session error: ${e.message}`);
    process.exit(1);
  });
  session.once('connect', () =>
    paced(
      rate,
      seconds,
      (done) => {
        const stream = session.request({ ':method': 'POST', ':path': '/ml.v1.PredictorService/Predict', 'content-type': 'application/grpc', te: 'trailers' });
        const chunks: Buffer[] = [];
        let status: string | undefined;
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('trailers', (t) => (status = String(t['grpc-status'])));
        stream.on('error', () => undefined);
        stream.on('close', () => done(status === '0' && chunks.length > 0));
        stream.end(REQUEST);
      },
      () => session.close(),
    ),
  );
}

function clientTcp(rate: number, seconds: number): void {
  const socket = createConnection(port, '127.0.0.1');
  const waiting: Array<(ok: boolean) => void> = [];
  let buffered = 0;
  socket.on('data', (d: Buffer) => {
    buffered += d.length;
    while (buffered >= ANSWER.length) {
      buffered -= ANSWER.length;
      waiting.shift()?.(true);
    }
  });
  socket.once('connect', () =>
    paced(
      rate,
      seconds,
      (done) => {
        waiting.push(done); // answered in order: the n-th whole answer completes the n-th call
        socket.write(REQUEST);
      },
      () => socket.end(),
    ),
  );
}

const rate = Number(rateArg);
const seconds = Number(secondsArg);
switch (role) {
  case 'server-h2':
    serveH2();
    break;
  case 'server-raw-h2':
    void startRawH2Floor(port).then(() => console.log(`listening ${port}`));
    process.on('SIGTERM', () => process.exit(0));
    break;
  case 'server-tcp':
    serveTcp();
    break;
  case 'client-h2':
    clientH2(rate, seconds);
    break;
  case 'client-tcp':
    clientTcp(rate, seconds);
    break;
  default:
    console.error(`unknown role ${role}`);
    process.exit(2);
}

import { constants, connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { status } from '@grpc/grpc-js';
import { createPredictorClient, HealthCheckResponse_ServingStatus as S, HealthClient } from '@pipeline/proto';
import { call, connect, startHarness, type Harness } from './harness';

const READ_TIMEOUT_MS = 300;
const EXPIRED = { code: status.RESOURCE_EXHAUSTED, details: `request not received within ${READ_TIMEOUT_MS} ms of the server starting to read it` };

/**
 * Starts a Predict call on a raw HTTP/2 session and writes `bytes` (left open: no END_STREAM).
 * `written` resolves once the transport took them all: for more than one stream window (64 KiB),
 * only after the server started reading the call. `ended` resolves with the call's gRPC status,
 * `reset` with the RST_STREAM code the server closed the stream with.
 */
function rawPredict(session: ClientHttp2Session, bytes: Buffer, headers: Record<string, string> = {}) {
  const stream = session.request({ ':method': 'POST', ':path': '/ml.v1.PredictorService/Predict', 'content-type': 'application/grpc', te: 'trailers', ...headers });
  stream.on('error', () => undefined);
  const written = new Promise<void>((resolve) => stream.write(bytes, () => resolve()));
  const ended = new Promise<{ code: number; details: string }>((resolve) => {
    const done = (headers: Record<string, unknown>) => {
      if (headers['grpc-status'] !== undefined) resolve({ code: Number(headers['grpc-status']), details: decodeURIComponent(String(headers['grpc-message'])) });
    };
    stream.on('response', done); // trailers-only response
    stream.on('trailers', done);
  });
  /** The RST_STREAM code the stream was closed with (the client never closes it here). */
  const reset = new Promise<number>((resolve) => stream.on('close', () => resolve(stream.rstCode ?? -1)));
  return { written, ended, reset };
}

/** A gRPC message prefix declaring an uncompressed message of `length` bytes. */
function prefix(length: number): Buffer {
  const b = Buffer.alloc(5);
  b.writeUInt32BE(length, 1);
  return b;
}

describe('the process-wide read budget (real server, raw HTTP/2 callers)', () => {
  let h: Harness;
  let session: ClientHttp2Session;
  beforeAll(async () => {
    h = await startHarness({ maxConcurrentReads: 1, readTimeoutMs: READ_TIMEOUT_MS });
  });
  beforeEach(() => {
    session = h2connect(`http://${h.address}`);
    session.on('error', () => undefined);
  });
  afterEach(() => session.destroy());
  afterAll(() => h.close());

  it('ends a call still sending its request after the read timeout with RESOURCE_EXHAUSTED, then serves Predict and Health waiting on other connections', async () => {
    const client = createPredictorClient(h.address, { defaultTimeoutMs: 5_000 });
    const health = connect(HealthClient, h.address);
    try {
      const order: string[] = [];
      const slowCall = rawPredict(session, Buffer.concat([prefix(400_000), Buffer.alloc(200_000)]));
      await slowCall.written; // 200 kB > one stream window: the server is reading it, in the only slot
      const slow = slowCall.ended.then((s) => (order.push('slow ended'), s));
      const predicted = client.predict({ modelName: 'linear', values: [1, 2, 3], nFeatures: 3 }).then((r) => (order.push('predict'), r.predictions));
      const checked = call(health, health.check, { service: '' }, 5_000).then((r) => (order.push('health'), r));
      expect(await slow).toEqual(EXPIRED);
      // y = 10 + x0 + x1 + x2 (LINEAR_V2)
      expect(await Promise.all([predicted, checked])).toEqual([[16], { status: S.SERVING }]);
      expect(order[0]).toBe('slow ended');
    } finally {
      client.close();
      health.close();
    }
  });

  it("leaves a waiting call's request with its client: past one stream window, its bytes are taken only once it holds the slot", async () => {
    const unfinished = () => Buffer.concat([prefix(400_000), Buffer.alloc(200_000)]);
    const first = rawPredict(session, unfinished());
    await first.written;
    const order: string[] = [];
    const second = rawPredict(session, unfinished());
    void first.ended.then(() => order.push('first ended'));
    await second.written.then(() => order.push('second written'));
    expect(order).toEqual(['first ended', 'second written']);
    expect(await second.ended).toEqual(EXPIRED);
  });

  it('resets the stream of a call that ended before its request arrived (RST_STREAM NO_ERROR after the status), so its bytes are not held while the client keeps sending', async () => {
    const unfinished = Buffer.concat([prefix(400_000), Buffer.alloc(200_000)]);
    const expired = rawPredict(session, unfinished);
    expect(await expired.ended).toEqual(EXPIRED);
    expect(await expired.reset).toBe(constants.NGHTTP2_NO_ERROR);
    const pastDeadline = rawPredict(session, unfinished, { 'grpc-timeout': '100m' });
    expect(await pastDeadline.ended).toEqual({ code: status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
    expect(await pastDeadline.reset).toBe(constants.NGHTTP2_NO_ERROR);
  });

  it('holds the slot until half-close: a complete request left open (room for a second message) ends with RESOURCE_EXHAUSTED', async () => {
    const body = Buffer.from([0x0a, 0x06, 0x6c, 0x69, 0x6e, 0x65, 0x61, 0x72]); // PredictRequest{model_name: "linear"}
    expect(await rawPredict(session, Buffer.concat([prefix(body.length), body])).ended).toEqual(EXPIRED);
  });
});

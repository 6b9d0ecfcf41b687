import { credentials, Metadata, Server, status, type Client, type ServerUnaryCall, type ServiceError, type sendUnaryData } from '@grpc/grpc-js';
import http2 from 'node:http2';
import { PredictorServiceClient, PredictorServiceService, PredictRequest, PredictResponse, type PredictorServiceServer } from './gen/ml/v1/predictor';
import { GrpcFront, type FastUnaryRoute, type UnaryHandler } from './GrpcFront';

type Unary<Req, Res> = (req: Req, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res: Res) => void) => unknown;
/** A generated unary method as a promise, with a deadline `deadlineMs` from now. */
const call = <Req, Res>(client: Client, method: Unary<Req, Res>, request: Req, deadlineMs = 2000): Promise<Res> =>
  new Promise((resolve, reject) => method.call(client, request, new Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res))));
/** The `{code, details}` a call failed with. */
async function failure(promise: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await promise;
  } catch (err) {
    return { code: (err as ServiceError).code, details: (err as ServiceError).details };
  }
  throw new Error('expected the call to fail');
}

/**
 * GrpcFront on its own: a fast-path Predict that answers [1] and a grpc-js server behind it whose
 * Predict answers [2], so every test can tell which side answered.
 */
describe('GrpcFront: fast path for chosen unary methods, grpc-js for the rest', () => {
  let grpcServer: Server;
  let front: GrpcFront;
  let address: string;
  let client: PredictorServiceClient;
  const seen: { deadline: number | Date; cancelled: boolean }[] = [];
  let grpcSideCancelled: Promise<void>;
  let markGrpcSideCancelled: () => void;
  let grpcSideReceived: Promise<void>;
  let markGrpcSideReceived: () => void;

  const fastPredict: UnaryHandler<PredictRequest, PredictResponse> = (c, done) => {
    seen.push({ deadline: c.getDeadline(), cancelled: c.cancelled });
    if (c.request.modelName === 'boom') return done({ code: status.INVALID_ARGUMENT, details: 'bad %, ü and \n' });
    if (c.request.modelName === 'throw') throw new Error('a handler bug');
    done(null, { predictions: [1], modelName: c.request.modelName, modelVersion: 1 });
  };
  const slowGrpcModels = (c: ServerUnaryCall<unknown, unknown>) => {
    c.on('cancelled', () => markGrpcSideCancelled());
    markGrpcSideReceived();
  };

  beforeEach(async () => {
    seen.length = 0;
    grpcSideCancelled = new Promise((r) => (markGrpcSideCancelled = r));
    grpcSideReceived = new Promise((r) => (markGrpcSideReceived = r));
    grpcServer = new Server();
    const behind: PredictorServiceServer = {
      predict: (_c: ServerUnaryCall<PredictRequest, PredictResponse>, done: sendUnaryData<PredictResponse>) =>
        done(null, { predictions: [2], modelName: 'grpc-js', modelVersion: 2 }),
      listModels: (c, done) => {
        if (c.metadata.get('x-hang').length > 0) return slowGrpcModels(c); // never answers: waits to be cancelled
        done(null, { models: [] });
      },
      getModel: (_c, done) => done({ code: status.NOT_FOUND, details: 'no such model' }),
    };
    grpcServer.addService(PredictorServiceService, behind);
    front = new GrpcFront({
      grpcServer,
      maxReceiveMessageBytes: 1024,
      routes: [{ definition: PredictorServiceService.predict, handler: fastPredict }] as FastUnaryRoute[],
    });
    address = `127.0.0.1:${await front.listen('127.0.0.1', 0)}`;
    client = new PredictorServiceClient(address, credentials.createInsecure());
  });

  afterEach(async () => {
    client.close();
    await front.close(100);
    grpcServer.forceShutdown();
  });

  /** One raw HTTP/2 call: status, message and the first response message's bytes. */
  async function rawCall(path: string, body: Buffer, headers: http2.OutgoingHttpHeaders = {}) {
    const session = http2.connect(`http://${address}`);
    try {
      return await new Promise<{ grpcStatus: string | undefined; grpcMessage: string | undefined; body: Buffer }>((resolve, reject) => {
        const s = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
        let h: http2.IncomingHttpHeaders = {};
        let t: http2.IncomingHttpHeaders = {};
        const chunks: Buffer[] = [];
        s.on('response', (x) => (h = x));
        s.on('trailers', (x) => (t = x));
        s.on('data', (c: Buffer) => chunks.push(c));
        s.on('error', reject);
        s.on('close', () => {
          const grpcStatus = (t['grpc-status'] ?? h['grpc-status']) as string | undefined;
          const grpcMessage = (t['grpc-message'] ?? h['grpc-message']) as string | undefined;
          resolve({ grpcStatus, grpcMessage, body: Buffer.concat(chunks) });
        });
        s.end(body);
      });
    } finally {
      session.close();
    }
  }
  const frame = (msg: Uint8Array, flag = 0) => {
    const b = Buffer.alloc(5 + msg.length);
    b[0] = flag;
    b.writeUInt32BE(msg.length, 1);
    b.set(msg, 5);
    return b;
  };
  const predictPath = PredictorServiceService.predict.path;
  const request = PredictRequest.encode({ modelName: 'm', version: 0, values: [1], nFeatures: 1 }).finish();

  it('answers a plain Predict on the fast path, with the client deadline as the handler deadline', async () => {
    const before = Date.now();
    const res = await call(client, client.predict, { modelName: 'm', version: 0, values: [1], nFeatures: 1 }, 5000);
    expect(res).toEqual({ predictions: [1], modelName: 'm', modelVersion: 1 });
    // grpc-js sends what is left of the client's deadline (rounded up), and the call arrived between
    // `before` and now: the handler's deadline is no earlier than the client's, and at most 5 s after now.
    const deadline = seen[0]!.deadline as number;
    expect(deadline).toBeGreaterThanOrEqual(before + 5000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 5000);
    expect(seen[0]!.cancelled).toBe(false);
  });

  it('sends handler errors as grpc-status with a percent-encoded grpc-message that clients decode', async () => {
    expect(await failure(call(client, client.predict, { modelName: 'boom', version: 0, values: [], nFeatures: 0 }))).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'bad %, ü and \n',
    });
  });

  it('answers INTERNAL when a handler throws instead of calling back, and keeps serving', async () => {
    expect(await failure(call(client, client.predict, { modelName: 'throw', version: 0, values: [], nFeatures: 0 }))).toEqual({ code: status.INTERNAL, details: 'internal error' });
    expect(await call(client, client.predict, { modelName: 'm', version: 0, values: [], nFeatures: 0 })).toMatchObject({ predictions: [1] });
  });

  it('takes a grpc-timeout beyond 24.8 days as a far deadline, not a past one', async () => {
    const before = Date.now();
    const r = await rawCall(predictPath, frame(request), { 'grpc-timeout': '2592000S' }); // 30 days
    expect(r.grpcStatus).toBe('0');
    expect(seen[0]!.deadline as number).toBeGreaterThanOrEqual(before + 2_592_000_000);
  });

  it('passes compressed requests (grpc-encoding gzip) to grpc-js, which decompresses them', async () => {
    const gz = new PredictorServiceClient(address, credentials.createInsecure(), { 'grpc.default_compression_algorithm': 2 });
    try {
      expect(await call(gz, gz.predict, { modelName: 'm', version: 0, values: [], nFeatures: 0 })).toEqual({ predictions: [2], modelName: 'grpc-js', modelVersion: 2 });
    } finally {
      gz.close();
    }
  });

  it('passes other methods to grpc-js: answers, errors, and UNIMPLEMENTED for unknown methods', async () => {
    expect(await call(client, client.listModels, {})).toEqual({ models: [] });
    expect(await failure(call(client, client.getModel, { modelName: 'x', version: 0 }))).toEqual({ code: status.NOT_FOUND, details: 'no such model' });
    const unknown = await rawCall('/ml.v1.PredictorService/Nope', frame(new Uint8Array(0)));
    expect(unknown.grpcStatus).toBe(String(status.UNIMPLEMENTED));
  });

  it('cancels the grpc-js call when the client cancels a passed-through call', async () => {
    const md = new Metadata();
    md.set('x-hang', '1');
    const pending = new Promise<{ code: number }>((resolve) => {
      const c = client.listModels({}, md, (err) => resolve({ code: err!.code }));
      void grpcSideReceived.then(() => c.cancel()); // once grpc-js holds the call
    });
    expect((await pending).code).toBe(status.CANCELLED);
    await grpcSideCancelled; // the test times out if the cancel never reached grpc-js
  });

  it.each([
    ['no message', Buffer.alloc(0), {}, status.UNIMPLEMENTED, `Received no request message for unary method ${predictPath}`],
    ['two messages', Buffer.concat([frame(request), frame(request)]), {}, status.UNIMPLEMENTED, `Received a second request message for unary method ${predictPath}`],
    ['a compressed flag without grpc-encoding', frame(request, 1), {}, status.INTERNAL, 'Received compressed message but "grpc-encoding" header was identity'],
    ['a truncated message', frame(request).subarray(0, 8), {}, status.INTERNAL, 'Received a truncated request message'],
    ['bytes that are not a PredictRequest', frame(Buffer.from([0xff, 0xff, 0xff])), {}, status.INTERNAL, 'Error deserializing request'],
    ['a malformed grpc-timeout', frame(request), { 'grpc-timeout': 'soon' }, status.INTERNAL, 'Invalid grpc-timeout value "soon"'],
    ['a message above the limit', frame(Buffer.alloc(2000)), {}, status.RESOURCE_EXHAUSTED, 'Received message larger than max (2000 vs 1024)'],
  ])('answers a fast-path call with %s by a status, and keeps serving', async (_, body, headers, code, details) => {
    const r = await rawCall(predictPath, body, headers);
    expect({ status: r.grpcStatus, message: decodeURIComponent(r.grpcMessage ?? '') }).toEqual({ status: String(code), message: details });
    expect(await call(client, client.predict, { modelName: 'm', version: 0, values: [], nFeatures: 0 })).toMatchObject({ predictions: [1] });
  });

  it('survives a client that resets its stream before the answer', async () => {
    const session = http2.connect(`http://${address}`);
    const s = session.request({ ':method': 'POST', ':path': predictPath, 'content-type': 'application/grpc' });
    s.on('error', () => undefined);
    s.write(frame(request).subarray(0, 3));
    await new Promise((r) => setTimeout(r, 20));
    s.close(http2.constants.NGHTTP2_CANCEL);
    session.close();
    expect(await call(client, client.predict, { modelName: 'm', version: 0, values: [], nFeatures: 0 })).toMatchObject({ predictions: [1] });
  });
});

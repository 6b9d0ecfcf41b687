import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { grpcTimeout } from './Http2UnaryChannel';
import { createPredictorClient, PredictorServiceService, type PredictorClient, type PredictorServiceServer } from './index';

/** A real grpc-js server (an independent gRPC implementation) with scriptable PredictorService handlers. */
async function startServer(impl: Partial<PredictorServiceServer>, port = 0): Promise<{ server: grpc.Server; address: string; port: number }> {
  const unimplemented = (_call: unknown, cb: grpc.sendUnaryData<never>) => cb({ code: status.UNIMPLEMENTED, details: 'not here' });
  const server = new grpc.Server();
  server.addService(PredictorServiceService, { predict: unimplemented, listModels: unimplemented, getModel: unimplemented, ...impl });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, address: `127.0.0.1:${bound}`, port: bound };
}

const stop = (server: grpc.Server) => new Promise<void>((r) => server.tryShutdown(() => r()));

// The server and client of the running test; both describes close them after each test.
let server: grpc.Server | undefined;
let client: PredictorClient | undefined;
afterEach(async () => {
  client?.close();
  if (server) await stop(server);
  server = client = undefined;
});

describe('createPredictorClient over a bare HTTP/2 connection (Http2UnaryChannel) against a grpc-js server', () => {
  it('round-trips Predict, ListModels and GetModel, and sends the deadline as grpc-timeout', async () => {
    let deadline = 0;
    const s = await startServer({
      predict: (call, cb) => {
        deadline = Number(call.getDeadline()); // the server's clock when the call arrived + grpc-timeout
        cb(null, { predictions: call.request.values.map((v) => v * 2), modelName: call.request.modelName, modelVersion: 7 });
      },
      listModels: (_call, cb) => cb(null, { models: [{ name: 'a', version: 1, type: 'linear_regression', featureKeys: ['x'], metrics: { r2: 0.5 }, featureImportances: {}, trainedAt: 't' }] }),
      getModel: (call, cb) => cb(null, { model: { name: call.request.modelName, version: call.request.version, type: 'kmeans', featureKeys: ['x', 'y'], metrics: {}, featureImportances: { x: 1 }, trainedAt: 't' } }),
    });
    server = s.server;
    client = createPredictorClient(s.address, { defaultTimeoutMs: 5_000 });
    const before = Date.now();
    expect(await client.predict({ modelName: 'm', values: [1, 2.5, -3], nFeatures: 3 })).toEqual({ predictions: [2, 5, -6], modelName: 'm', modelVersion: 7 });
    // The call arrived between `before` and now, so a 5 s grpc-timeout puts the deadline in this span.
    expect(deadline).toBeGreaterThanOrEqual(before + 5_000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 5_000);
    expect((await client.listModels()).models.map((m) => [m.name, m.metrics])).toEqual([['a', { r2: 0.5 }]]);
    expect((await client.getModel({ modelName: 'b', version: 3 })).model).toMatchObject({ name: 'b', version: 3, type: 'kmeans', featureImportances: { x: 1 } });
  });

  it('rejects with the server status code and its message, percent-encoding undone', async () => {
    const s = await startServer({ predict: (_call, cb) => cb({ code: status.NOT_FOUND, details: 'no model "ünïcode 100%"' }) });
    server = s.server;
    client = createPredictorClient(s.address);
    await expect(client.predict({ modelName: 'x', values: [1], nFeatures: 1 })).rejects.toMatchObject({ code: status.NOT_FOUND, details: 'no model "ünïcode 100%"' });
    // An unknown method is UNIMPLEMENTED, answered trailers-only by the server.
    await expect(client.listModels()).rejects.toMatchObject({ code: status.UNIMPLEMENTED });
  });

  it('ends a call at its deadline with DEADLINE_EXCEEDED and cancels its stream, though the server never answers', async () => {
    // A bare HTTP/2 server that takes the call and never answers nor enforces the deadline (as a
    // grpc-js server would): only the client's own deadline can end the call.
    const sessions = new Set<http2.ServerHttp2Session>();
    const h2 = http2.createServer();
    h2.on('session', (session) => (sessions.add(session), session.on('close', () => sessions.delete(session))));
    const arrived = new Promise<{ timeout: unknown; closed: Promise<number> }>((resolve) =>
      h2.on('stream', (stream, headers) => {
        stream.on('error', () => undefined);
        resolve({ timeout: headers['grpc-timeout'], closed: new Promise((closed) => stream.on('close', () => closed(stream.rstCode))) });
      }),
    );
    await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
    try {
      client = createPredictorClient(`127.0.0.1:${(h2.address() as AddressInfo).port}`);
      await expect(client.predict({ modelName: 'x', values: [1], nFeatures: 1 }, { timeoutMs: 50 })).rejects.toMatchObject({
        code: status.DEADLINE_EXCEEDED,
        details: 'deadline of 50 ms exceeded',
      });
      const call = await arrived;
      expect([call.timeout, await call.closed]).toEqual(['50m', http2.constants.NGHTTP2_CANCEL]);
    } finally {
      for (const session of sessions) session.destroy();
      await new Promise((resolve) => h2.close(resolve));
    }
    // A deadline already passed fails at once, without a call.
    await expect(client.predict({ modelName: 'x', values: [1], nFeatures: 1 }, { timeoutMs: 0 })).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED });
  });

  it('fails with UNAVAILABLE while nothing listens, and reconnects once the server is back', async () => {
    const first = await startServer({ predict: (call, cb) => cb(null, { predictions: [1], modelName: call.request.modelName, modelVersion: 1 }) });
    await stop(first.server);
    client = createPredictorClient(first.address);
    await expect(client.predict({ modelName: 'x', values: [1], nFeatures: 1 })).rejects.toMatchObject({ code: status.UNAVAILABLE });
    const again = await startServer({ predict: (call, cb) => cb(null, { predictions: [2], modelName: call.request.modelName, modelVersion: 2 }) }, first.port);
    server = again.server;
    expect(await client.predict({ modelName: 'back', values: [1], nFeatures: 1 })).toEqual({ predictions: [2], modelName: 'back', modelVersion: 2 });
  });

  it('keeps serving after the server restarts between calls (a new connection after the old one closed)', async () => {
    const a = await startServer({ predict: (_call, cb) => cb(null, { predictions: [1], modelName: 'a', modelVersion: 1 }) });
    client = createPredictorClient(a.address);
    expect((await client.predict({ modelName: 'a', values: [1], nFeatures: 1 })).modelName).toBe('a');
    a.server.forceShutdown();
    const b = await startServer({ predict: (_call, cb) => cb(null, { predictions: [1], modelName: 'b', modelVersion: 1 }) }, a.port);
    server = b.server;
    let name = '';
    for (let i = 0; i < 20 && name !== 'b'; i++) {
      name = await client.predict({ modelName: 'b', values: [1], nFeatures: 1 }).then((r) => r.modelName, () => '');
      if (name !== 'b') await new Promise((r) => setTimeout(r, 50));
    }
    expect(name).toBe('b');
  });

  it('rejects a response above maxReceiveMessageBytes with RESOURCE_EXHAUSTED', async () => {
    const s = await startServer({ predict: (_call, cb) => cb(null, { predictions: new Array(10_000).fill(1.5), modelName: 'big', modelVersion: 1 }) });
    server = s.server;
    client = createPredictorClient(s.address, { maxReceiveMessageBytes: 1024 });
    await expect(client.predict({ modelName: 'x', values: [1], nFeatures: 1 })).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED });
  });

  it('fails calls after close with UNAVAILABLE', async () => {
    const s = await startServer({});
    server = s.server;
    client = createPredictorClient(s.address);
    client.close();
    await expect(client.predict({ modelName: 'x', values: [1], nFeatures: 1 })).rejects.toMatchObject({ code: status.UNAVAILABLE, details: 'channel closed' });
  });
});

describe('createPredictorClient with credentials goes through grpc-js, with the same results', () => {
  it('round-trips Predict and maps a server error to its code and details', async () => {
    const s = await startServer({
      predict: (call, cb) => cb(null, { predictions: call.request.values.map((v) => v + 1), modelName: call.request.modelName, modelVersion: 3 }),
      getModel: (_call, cb) => cb({ code: status.NOT_FOUND, details: 'no such model' }),
    });
    server = s.server;
    client = createPredictorClient(s.address, { credentials: grpc.credentials.createInsecure() });
    expect(await client.predict({ modelName: 'm', values: [1, 2], nFeatures: 2 })).toEqual({ predictions: [2, 3], modelName: 'm', modelVersion: 3 });
    await expect(client.getModel({ modelName: 'x' })).rejects.toMatchObject({ code: status.NOT_FOUND, details: 'no such model' });
    await expect(client.predict({ modelName: 'm', values: [1], nFeatures: 1 }, { timeoutMs: -1 })).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED });
  });
});

describe('grpcTimeout', () => {
  it('writes at most 8 digits: milliseconds, rounded up, or seconds beyond 99,999,999 ms', () => {
    expect(grpcTimeout(2000)).toBe('2000m');
    expect(grpcTimeout(0.2)).toBe('1m');
    expect(grpcTimeout(99_999_999)).toBe('99999999m');
    expect(grpcTimeout(100_000_000)).toBe('100000S');
    expect(grpcTimeout(1e15)).toBe('99999999S');
  });
});

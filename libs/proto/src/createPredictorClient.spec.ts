import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { waitFor } from '@pipeline/testing';
import { createPredictorClient, PredictorServiceService, type PredictorClient, type PredictorServiceServer } from './index';

/** A real grpc-js server with scriptable PredictorService handlers. */
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

// The server and client of the running test, closed after each test.
let server: grpc.Server | undefined;
let client: PredictorClient | undefined;
afterEach(async () => {
  client?.close();
  if (server) await stop(server);
  server = client = undefined;
});

describe('createPredictorClient against a grpc-js server', () => {
  it('round-trips Predict, ListModels and GetModel, and sends the deadline with the call', async () => {
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
    // grpc-js sends what is left of the deadline, rounded up, and the call arrived between `before`
    // and now: the server's deadline is no earlier than the client's, and at most 5 s after now.
    expect(deadline).toBeGreaterThanOrEqual(before + 5_000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 5_000);
    expect((await client.listModels()).models.map((m) => [m.name, m.metrics])).toEqual([['a', { r2: 0.5 }]]);
    expect((await client.getModel({ modelName: 'b', version: 3 })).model).toMatchObject({ name: 'b', version: 3, type: 'kmeans', featureImportances: { x: 1 } });
  });

  it('rejects with the server status code and its message', async () => {
    const s = await startServer({ predict: (_call, cb) => cb({ code: status.NOT_FOUND, details: 'no model "ünïcode 100%"' }) });
    server = s.server;
    client = createPredictorClient(s.address);
    await expect(client.predict({ modelName: 'x', values: [1], nFeatures: 1 })).rejects.toMatchObject({ code: status.NOT_FOUND, details: 'no model "ünïcode 100%"' });
    await expect(client.listModels()).rejects.toMatchObject({ code: status.UNIMPLEMENTED, details: 'not here' });
  });

  it('ends a call at its per-call deadline with DEADLINE_EXCEEDED, and the server sees it cancelled', async () => {
    let cancelled!: () => void;
    const serverSawCancel = new Promise<void>((r) => (cancelled = r));
    const s = await startServer({ predict: (call) => call.on('cancelled', () => cancelled()) }); // never answers
    server = s.server;
    client = createPredictorClient(s.address, { defaultTimeoutMs: 60_000 });
    await expect(client.predict({ modelName: 'x', values: [1], nFeatures: 1 }, { timeoutMs: 50 })).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED });
    await serverSawCancel; // the test times out if the server never learns
    // A deadline already passed fails too.
    await expect(client.predict({ modelName: 'x', values: [1], nFeatures: 1 }, { timeoutMs: -1 })).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED });
  });

  it('fails with UNAVAILABLE while nothing listens, and reconnects once the server is back', async () => {
    const first = await startServer({});
    await stop(first.server);
    client = createPredictorClient(first.address);
    await expect(client.predict({ modelName: 'x', values: [1], nFeatures: 1 })).rejects.toMatchObject({ code: status.UNAVAILABLE });
    const again = await startServer({ predict: (call, cb) => cb(null, { predictions: [2], modelName: call.request.modelName, modelVersion: 2 }) }, first.port);
    server = again.server;
    // Reconnection attempts are at most 1 s apart (grpc.max_reconnect_backoff_ms).
    const answer = await waitFor(() => client!.predict({ modelName: 'back', values: [1], nFeatures: 1 }).catch(() => undefined), { timeoutMs: 5_000, intervalMs: 50 });
    expect(answer).toEqual({ predictions: [2], modelName: 'back', modelVersion: 2 });
  });

  it('keeps serving after the server restarts between calls', async () => {
    const a = await startServer({ predict: (_call, cb) => cb(null, { predictions: [1], modelName: 'a', modelVersion: 1 }) });
    client = createPredictorClient(a.address);
    expect((await client.predict({ modelName: 'a', values: [1], nFeatures: 1 })).modelName).toBe('a');
    a.server.forceShutdown();
    const b = await startServer({ predict: (_call, cb) => cb(null, { predictions: [1], modelName: 'b', modelVersion: 1 }) }, a.port);
    server = b.server;
    const name = await waitFor(() => client!.predict({ modelName: 'b', values: [1], nFeatures: 1 }).then((r) => r.modelName, () => undefined), { timeoutMs: 5_000, intervalMs: 50 });
    expect(name).toBe('b');
  });

  it('rejects a response above maxReceiveMessageBytes with RESOURCE_EXHAUSTED', async () => {
    const s = await startServer({ predict: (_call, cb) => cb(null, { predictions: new Array(10_000).fill(1.5), modelName: 'big', modelVersion: 1 }) });
    server = s.server;
    client = createPredictorClient(s.address, { maxReceiveMessageBytes: 1024 });
    await expect(client.predict({ modelName: 'x', values: [1], nFeatures: 1 })).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED });
  });

  it('rejects calls after close', async () => {
    const s = await startServer({});
    server = s.server;
    client = createPredictorClient(s.address);
    client.close();
    await expect(client.predict({ modelName: 'x', values: [1], nFeatures: 1 })).rejects.toThrow('Channel has been shut down');
  });
});

import { status } from '@grpc/grpc-js';
import { HealthCheckResponse_ServingStatus as S, HealthClient, type HealthCheckResponse } from '@pipeline/proto';
import { call, connect, failure, startHarness, type Harness } from './harness';

describe('grpc.health.v1.Health over a real gRPC server', () => {
  let h: Harness;
  let client: HealthClient;
  beforeEach(async () => {
    h = await startHarness({ healthPollMs: 20 });
    client = connect(HealthClient, h.address);
  });
  afterEach(async () => {
    client.close();
    await h.close();
  });
  const check = (service: string) => call(client, client.check, { service });

  it('reports SERVING overall and for every service it runs', async () => {
    for (const service of ['', 'ml.v1.PredictorService', 'inference.GRPCInferenceService', 'grpc.health.v1.Health']) {
      expect({ service, ...(await check(service)) }).toEqual({ service, status: S.SERVING });
    }
  });

  it('reports NOT_SERVING after setServing(false) and SERVING again after setServing(true)', async () => {
    h.grpc.setServing(false);
    expect(await check('')).toEqual({ status: S.NOT_SERVING });
    expect(await check('ml.v1.PredictorService')).toEqual({ status: S.NOT_SERVING });
    h.grpc.setServing(true);
    expect(await check('')).toEqual({ status: S.SERVING });
  });

  it('reports NOT_SERVING while the catalog is not ready', async () => {
    h.catalog.ready = false;
    expect(await check('inference.GRPCInferenceService')).toEqual({ status: S.NOT_SERVING });
  });

  it('answers NOT_FOUND for a service it does not run', async () => {
    expect(await failure(check('foo.Bar'))).toEqual({ code: status.NOT_FOUND, details: 'service "foo.Bar" is not known to this server' });
  });

  it('streams the status on Watch, pushing setServing changes and polled catalog readiness changes', async () => {
    const seen: S[] = [];
    const stream = client.watch({ service: '' });
    const next = (n: number) =>
      new Promise<void>((resolve) => {
        const onData = (r: HealthCheckResponse) => {
          seen.push(r.status);
          if (seen.length === n) {
            stream.off('data', onData);
            resolve();
          }
        };
        stream.on('data', onData);
      });
    stream.on('error', () => undefined); // the cancel below ends the stream with CANCELLED
    await next(1);
    h.grpc.setServing(false);
    await next(2);
    h.grpc.setServing(true);
    await next(3);
    h.catalog.ready = false; // no notification: found by polling
    await next(4);
    stream.cancel();
    expect(seen).toEqual([S.SERVING, S.NOT_SERVING, S.SERVING, S.NOT_SERVING]);
  });

  it('answers SERVICE_UNKNOWN on Watch for a service it does not run', async () => {
    const stream = client.watch({ service: 'foo.Bar' });
    stream.on('error', () => undefined);
    const first = await new Promise<HealthCheckResponse>((resolve) => stream.once('data', resolve));
    stream.cancel();
    expect(first).toEqual({ status: S.SERVICE_UNKNOWN });
  });

  it('ends open Watch streams on stop so shutdown does not wait for them', async () => {
    const stream = client.watch({ service: '' });
    const statuses: S[] = [];
    stream.on('data', (r: HealthCheckResponse) => statuses.push(r.status));
    const ended = new Promise<void>((resolve) => stream.on('end', resolve));
    await new Promise((r) => stream.once('data', r));
    await h.grpc.stop(5000);
    await ended;
    expect(statuses).toEqual([S.SERVING, S.NOT_SERVING]);
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { createPredictorClient } from '@pipeline/proto';
import { startAllServices } from './allServices';

const TOKEN = 'k'.repeat(48);

describe('the services with INTERNAL_TOKEN_FILE set (all six on real HTTP and gRPC ports)', () => {
  let env: Awaited<ReturnType<typeof startAllServices>>;
  let dir: string;
  const url = (name: string) => env.services.find((s) => s.name === name)!.url;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'internal-token-'));
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
    env = await startAllServices({ INTERNAL_TOKEN_FILE: join(dir, 'token') });
  });
  afterAll(async () => {
    await env.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the gateway forwards events to ingest with the token, while a caller without it gets 401 from ingest', async () => {
    const event = [{ topic: 'events.metrics', payload: { metric_name: 'token_test', value: 1 } }];
    const viaGateway = await fetch(`${url('api-gateway')}/pipeline/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
    expect(viaGateway.status).toBe(202);
    const direct = await fetch(`${url('ingest')}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
    expect(direct.status).toBe(401);
    expect(((await direct.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    // Probes stay open for the kubelet and Prometheus.
    expect((await fetch(`${url('ingest')}/healthz`)).status).toBe(200);
  });

  it('the gateway calls the predictor with the token, while a gRPC caller without it is UNAUTHENTICATED', async () => {
    const models = await fetch(`${url('api-gateway')}/pipeline/ml/models`);
    expect(models.status).toBe(200);
    const anonymous = createPredictorClient(env.grpcAddress);
    try {
      await expect(anonymous.listModels()).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    } finally {
      anonymous.close();
    }
  });
});

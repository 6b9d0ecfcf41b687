import { status } from '@grpc/grpc-js';
import { createPredictorClient, GRPCInferenceServiceClient, HealthCheckResponse_ServingStatus as S, HealthClient } from '@pipeline/proto';
import { call, connect, failure, startHarness, type Harness } from './harness';

const TOKEN = 't'.repeat(64);
const OLD = 'o'.repeat(32);

describe('the gRPC port with an internal token configured (real server and clients)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ internalTokens: [TOKEN, OLD] });
  });
  afterAll(() => h.close());

  it('refuses Predict, ListModels, GetModel and the KServe methods without the token: UNAUTHENTICATED, no handler runs', async () => {
    const anonymous = createPredictorClient(h.address);
    const kserve = connect(GRPCInferenceServiceClient, h.address);
    try {
      const missing = { code: status.UNAUTHENTICATED, details: 'missing service token: send metadata authorization: Bearer <token of INTERNAL_TOKEN_FILE>' };
      expect(await failure(anonymous.predict({ modelName: 'linear', values: [1, 2, 3], nFeatures: 3 }))).toEqual(missing);
      expect(await failure(anonymous.listModels())).toEqual(missing);
      expect(await failure(anonymous.getModel({ modelName: 'linear' }))).toEqual(missing);
      expect(await failure(call(kserve, kserve.serverLive, {}))).toEqual(missing);
      expect(h.predictions).toEqual([]);
    } finally {
      anonymous.close();
      kserve.close();
    }
  });

  it('refuses a wrong token, and serves a caller with either token of a rotation', async () => {
    const wrong = createPredictorClient(h.address, { token: 'w'.repeat(64) });
    const current = createPredictorClient(h.address, { token: TOKEN });
    const previous = createPredictorClient(h.address, { token: OLD });
    try {
      expect(await failure(wrong.listModels())).toEqual({ code: status.UNAUTHENTICATED, details: 'invalid service token' });
      // y = 10 + x0 + x1 + x2 (LINEAR_V2, the latest)
      expect((await current.predict({ modelName: 'linear', values: [1, 2, 3], nFeatures: 3 })).predictions).toEqual([16]);
      expect((await previous.listModels()).models.map((m) => `${m.name}@${m.version}`).sort()).toEqual(['linear@1', 'linear@2']);
    } finally {
      for (const c of [wrong, current, previous]) c.close();
    }
  });

  it('leaves grpc.health.v1.Health open for probes', async () => {
    const health = connect(HealthClient, h.address);
    try {
      expect(await call(health, health.check, { service: '' })).toEqual({ status: S.SERVING });
    } finally {
      health.close();
    }
  });
});

import { status } from '@grpc/grpc-js';
import { createPredictorClient, PredictorServiceClient, PredictRequest, type PredictorClient } from '@pipeline/proto';
import type { ServableModel } from '../ModelCatalog';
import { call, connect, failure, LINEAR_V1, LINEAR_V2, linearModel, startHarness, type Harness } from './harness';

describe('ml.v1.PredictorService over a real gRPC server', () => {
  let h: Harness;
  let raw: PredictorServiceClient;
  let client: PredictorClient;
  beforeEach(async () => {
    h = await startHarness();
    raw = connect(PredictorServiceClient, h.address);
    client = createPredictorClient(h.address, { defaultTimeoutMs: 2000 });
  });
  afterEach(async () => {
    raw.close();
    client.close();
    await h.close();
  });
  const predict = (req: Partial<PredictRequest>, deadlineMs?: number) =>
    call(raw, raw.predict, PredictRequest.fromPartial(req), deadlineMs);

  it('predicts one row with the latest version when version is 0', async () => {
    expect(await predict({ modelName: 'linear', values: [1, 2, 3], nFeatures: 3 })).toEqual({
      predictions: [16],
      modelName: 'linear',
      modelVersion: 2,
    });
    expect(h.predictions).toEqual([{ model: 'linear', api: 'ml.v1', ok: true }]);
  });

  it('predicts many rows in input order with the requested version', async () => {
    // v1: 1 + 2·x0 − 3·x1 + 0.5·x2
    expect(await predict({ modelName: 'linear', version: 1, values: [1, 2, 3, 0, 0, 0, -1, 0.5, 4], nFeatures: 3 })).toEqual({
      predictions: [-1.5, 1, -0.5],
      modelName: 'linear',
      modelVersion: 1,
    });
  });

  it('serves the same through the promise client helper', async () => {
    await expect(client.predict({ modelName: 'linear', version: 1, values: [1, 2, 3], nFeatures: 3 })).resolves.toEqual({
      predictions: [-1.5],
      modelName: 'linear',
      modelVersion: 1,
    });
  });

  it('lists every model version sorted by name then version', async () => {
    h.catalog.models.push(linearModel('alpha', 1, 0, [1]));
    const { models } = await client.listModels();
    expect(models.map((m) => [m.name, m.version])).toEqual([
      ['alpha', 1],
      ['linear', 1],
      ['linear', 2],
    ]);
  });

  it('describes a model version with its features, metrics, importances and training time', async () => {
    expect(await client.getModel({ modelName: 'linear', version: 1 })).toEqual({
      model: {
        name: 'linear',
        version: 1,
        type: 'linear_regression',
        featureKeys: ['x0', 'x1', 'x2'],
        metrics: { rmse: 0.5, r2: 0.9 },
        featureImportances: { x0: 2, x1: 3, x2: 0.5 },
        trainedAt: '2026-01-01T00:00:00.000Z',
      },
    });
    expect((await client.getModel({ modelName: 'linear' })).model?.version).toBe(2);
  });

  it('returns an empty feature_importances map for a model without importances', async () => {
    const { featureImportances: _, ...plain } = LINEAR_V1;
    h.catalog.models.splice(0, 2, { ...plain, name: 'plain', predict: LINEAR_V1.predict } as ServableModel);
    expect((await client.getModel({ modelName: 'plain' })).model?.featureImportances).toEqual({});
  });

  describe('errors', () => {
    it.each([
      ['an unknown model', { modelName: 'nope', values: [1, 2, 3], nFeatures: 3 }, status.NOT_FOUND, 'model "nope" not found'],
      ['an unknown version', { modelName: 'linear', version: 7, values: [1, 2, 3], nFeatures: 3 }, status.NOT_FOUND, 'model "linear" version 7 not found'],
      ['an empty model name', { modelName: '', values: [1, 2, 3], nFeatures: 3 }, status.INVALID_ARGUMENT, 'model_name must be non-empty'],
      ['empty rows', { modelName: 'linear', values: [], nFeatures: 3 }, status.INVALID_ARGUMENT, 'values must hold at least one row, got 0 values'],
      [
        'a wrong feature count',
        { modelName: 'linear', values: [1, 2, 3, 4], nFeatures: 4 },
        status.INVALID_ARGUMENT,
        'n_features must be 3 (the feature count of model "linear" version 2), got 4',
      ],
      [
        'a partial row',
        { modelName: 'linear', values: [1, 2, 3, 4], nFeatures: 3 },
        status.INVALID_ARGUMENT,
        'values length must be a multiple of n_features (3), got 4',
      ],
      [
        'NaN',
        { modelName: 'linear', values: [1, 2, 3, 4, NaN, 6], nFeatures: 3 },
        status.INVALID_ARGUMENT,
        'values[4] (row 1, feature "x1") must be a finite number, got NaN',
      ],
      [
        'Infinity',
        { modelName: 'linear', values: [-Infinity, 2, 3], nFeatures: 3 },
        status.INVALID_ARGUMENT,
        'values[0] (row 0, feature "x0") must be a finite number, got -Infinity',
      ],
    ])('rejects %s', async (_, req, code, details) => {
      expect(await failure(predict(req))).toEqual({ code, details });
    });

    it('reports a failed prediction with ok=false and the model "unknown" for unknown names', async () => {
      await failure(predict({ modelName: 'nope', values: [1, 2, 3], nFeatures: 3 }));
      await failure(predict({ modelName: 'linear', values: [NaN, 2, 3], nFeatures: 3 }));
      expect(h.predictions).toEqual([
        { model: 'unknown', api: 'ml.v1', ok: false },
        { model: 'linear', api: 'ml.v1', ok: false },
      ]);
    });

    it('answers NOT_FOUND from GetModel for an unknown version', async () => {
      expect(await failure(client.getModel({ modelName: 'linear', version: 3 }))).toEqual({
        code: status.NOT_FOUND,
        details: 'model "linear" version 3 not found',
      });
    });

    it('answers UNAVAILABLE while models are not loaded', async () => {
      h.catalog.ready = false;
      expect(await failure(predict({ modelName: 'linear', values: [1, 2, 3], nFeatures: 3 }))).toEqual({
        code: status.UNAVAILABLE,
        details: 'models are not loaded yet',
      });
    });

    it('hides a model failure behind INTERNAL "internal error" and logs the original', async () => {
      const boom = new Error('secret path /srv/models/linear.bin unreadable');
      h.catalog.models.push({ ...linearModel('broken', 1, 0, [1]), predict: () => { throw boom; } });
      expect(await failure(predict({ modelName: 'broken', values: [1], nFeatures: 1 }))).toEqual({
        code: status.INTERNAL,
        details: 'internal error',
      });
      expect(h.errors).toEqual([{ err: boom, method: 'ml.v1.PredictorService/Predict' }]);
    });

    it('treats a model returning the wrong number of predictions as INTERNAL', async () => {
      h.catalog.models.push({ ...linearModel('short', 1, 0, [1]), predict: () => new Float64Array(0) });
      expect(await failure(predict({ modelName: 'short', values: [1, 2], nFeatures: 1 }))).toEqual({
        code: status.INTERNAL,
        details: 'internal error',
      });
      expect(h.errors.map((e) => (e.err as Error).message)).toEqual(['model "short" version 1 returned 0 predictions for 2 rows']);
    });

    it('fails with DEADLINE_EXCEEDED when the deadline is already past', async () => {
      const spy = jest.spyOn(LINEAR_V2, 'predict');
      try {
        const result = await failure(predict({ modelName: 'linear', values: [1, 2, 3], nFeatures: 3 }, -1000));
        expect(result.code).toBe(status.DEADLINE_EXCEEDED);
        expect(spy).not.toHaveBeenCalled();
      } finally {
        spy.mockRestore();
      }
    });

    it('skips predict when the deadline passes before the work starts (server-side check)', async () => {
      const predictSpy = jest.fn(LINEAR_V2.predict);
      const get = h.catalog.get.bind(h.catalog);
      const clock = jest.spyOn(Date, 'now');
      try {
        h.catalog.get = (name, version) => {
          const now = Date.now();
          clock.mockReturnValue(now + 10_000); // the clock passes the 5 s deadline while the model is looked up
          const m = get(name, version);
          return m && { ...m, predict: predictSpy };
        };
        // The client's own timer (5 s) cannot be what ends the call: the answer is the server's.
        const result = await failure(client.predict({ modelName: 'linear', values: [1, 2, 3], nFeatures: 3 }, { timeoutMs: 5_000 }));
        expect(result).toEqual({ code: status.DEADLINE_EXCEEDED, details: 'deadline exceeded before prediction started' });
        expect(predictSpy).not.toHaveBeenCalled();
      } finally {
        clock.mockRestore();
      }
    });
  });
});

describe('request size limit', () => {
  it('rejects a message above maxReceiveMessageBytes with RESOURCE_EXHAUSTED', async () => {
    const h = await startHarness({ maxReceiveMessageBytes: 1024, models: [LINEAR_V1, LINEAR_V2] });
    const client = createPredictorClient(h.address);
    try {
      const values = Array.from({ length: 300 }, (_, i) => i); // 300 packed doubles: a 2,413-byte message
      const result = await failure(client.predict({ modelName: 'linear', values, nFeatures: 3 }));
      expect(result).toEqual({ code: status.RESOURCE_EXHAUSTED, details: 'Received message larger than max (2413 vs 1024)' });
      expect(await client.predict({ modelName: 'linear', values: [1, 2, 3], nFeatures: 3 })).toEqual({
        predictions: [16],
        modelName: 'linear',
        modelVersion: 2,
      });
    } finally {
      client.close();
      await h.close();
    }
  });
});

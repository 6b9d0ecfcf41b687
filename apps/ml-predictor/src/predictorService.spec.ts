import { status } from '@grpc/grpc-js';
import { INTERNAL_TOPICS } from '@pipeline/contracts';
import { InMemoryBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { decodeModel, encodeModel, trainModel } from '@pipeline/ml';
import { publishModel } from '@pipeline/model-registry';
import { createPredictorClient } from '@pipeline/proto';
import { ServiceMetrics, startService } from '@pipeline/service-runtime';
import { waitFor } from '@pipeline/testing';
import { readPredictorConfig } from './config';
import { createInlineDecoder, type ModelDecoder } from './ModelDecoder';
import { createPredictorService } from './predictorService';

/** y = slope·a exactly (linear regression), so a prediction tells the version apart. */
const publish = (bus: InMemoryBus, name: string, version: number) => {
  const rows = Array.from({ length: 10 }, (_, i) => ({ a: i, y: version * i }));
  const model = trainModel({ modelName: name, modelType: 'linear_regression', featureKeys: ['a'], targetKey: 'y', rows, version, trainedAt: '2026-11-27T15:00:00.000Z', params: { testFraction: 0 } });
  return publishModel(bus, { topic: INTERNAL_TOPICS.mlModels, name, version, bytes: encodeModel(model), metadata: {}, publishedAt: '2026-11-27T15:00:00.000Z' });
};

describe('ml-predictor service', () => {
  it('decodes only the newest ML_MAX_VERSIONS_PER_MODEL versions of each model at start, then every new one', async () => {
    const bus = new InMemoryBus({ defaultPartitions: 3 });
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    for (let v = 1; v <= 5; v++) await publish(bus, 'm', v);
    await publish(bus, 'k', 1);
    const metrics = new ServiceMetrics('ml-predictor');
    let port = 0;
    const config = readPredictorConfig({ HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', GRPC_PORT: '0', GRPC_HOST: '127.0.0.1', LOG_LEVEL: 'silent', ML_MAX_VERSIONS_PER_MODEL: '3' }, { requireBrokers: false });
    const service = await startService(createPredictorService({ onGrpcListening: (p) => (port = p) }), config, bus, { metrics });
    const client = createPredictorClient(`127.0.0.1:${port}`);
    const loads = async () => (await metrics.registry.getSingleMetricAsString('pipeline_ml_model_loads_total')).match(/result="ok"[^}]*\} (\d+)/)?.[1];
    try {
      expect(await loads()).toBe('4'); // m/3, m/4, m/5 and k/1 — not m/1, m/2
      expect((await client.predict({ modelName: 'm', values: [2], nFeatures: 1 })).predictions[0]).toBeCloseTo(10, 9);
      expect((await client.predict({ modelName: 'm', version: 3, values: [2], nFeatures: 1 })).predictions[0]).toBeCloseTo(6, 9);
      await expect(client.predict({ modelName: 'm', version: 2, values: [2], nFeatures: 1 })).rejects.toMatchObject({ code: status.NOT_FOUND });
      await publish(bus, 'm', 6);
      await waitFor(async () => (await client.predict({ modelName: 'm', values: [1], nFeatures: 1 })).modelVersion === 6, { timeoutMs: 10_000, what: 'version 6 served' });
      expect(await loads()).toBe('5');
    } finally {
      client.close();
      await service.stop();
      await bus.close();
    }
  });

  it('is ready with the versions that decoded once ML_STARTUP_DECODE_WAIT_MS has passed, and serves a slow one when it finishes', async () => {
    const bus = new InMemoryBus({ defaultPartitions: 3 });
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    await publish(bus, 'fast', 1);
    await publish(bus, 'slow', 1);
    // Decodes every version at once except the one named "slow", which waits for `release`.
    let release = () => undefined as void;
    const inline = createInlineDecoder();
    const decoder: ModelDecoder = {
      decode: (bytes) => (decodeModel(bytes).name === 'slow' ? new Promise<void>((r) => (release = r)).then(() => inline.decode(bytes)) : inline.decode(bytes)),
      close: async () => undefined,
    };
    let port = 0;
    const config = readPredictorConfig(
      { HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', GRPC_PORT: '0', GRPC_HOST: '127.0.0.1', LOG_LEVEL: 'silent', ML_STARTUP_DECODE_WAIT_MS: '200' },
      { requireBrokers: false },
    );
    const service = await startService(createPredictorService({ onGrpcListening: (p) => (port = p), decoder }), config, bus);
    const client = createPredictorClient(`127.0.0.1:${port}`);
    try {
      const ready = await fetch(`http://127.0.0.1:${service.port}/readyz`);
      expect(ready.status).toBe(200);
      expect((await client.predict({ modelName: 'fast', values: [2], nFeatures: 1 })).modelVersion).toBe(1);
      await expect(client.predict({ modelName: 'slow', values: [2], nFeatures: 1 })).rejects.toMatchObject({ code: status.NOT_FOUND });
      release();
      await waitFor(async () => (await client.predict({ modelName: 'slow', values: [2], nFeatures: 1 }).catch(() => undefined))?.modelVersion === 1, { timeoutMs: 5_000, what: 'slow/1 served' });
    } finally {
      client.close();
      await service.stop();
      await bus.close();
    }
  });
});

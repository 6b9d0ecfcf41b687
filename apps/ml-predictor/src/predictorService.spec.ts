import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
const encoded = (name: string, version: number, slope = version) => {
  const rows = Array.from({ length: 10 }, (_, i) => ({ a: i, y: slope * i }));
  return encodeModel(trainModel({ modelName: name, modelType: 'linear_regression', featureKeys: ['a'], targetKey: 'y', rows, version, trainedAt: '2026-11-27T15:00:00.000Z', params: { testFraction: 0 } }));
};
const publish = (bus: InMemoryBus, name: string, version: number, signingKey?: KeyObject) =>
  publishModel(bus, { topic: INTERNAL_TOPICS.mlModels, name, version, bytes: encoded(name, version), metadata: {}, publishedAt: '2026-11-27T15:00:00.000Z', ...(signingKey ? { signingKey } : {}) });

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

  it('with ML_VERIFY_KEYS_FILE refuses and counts a version written by anyone but the trainer, and Predict keeps answering with the previous one', async () => {
    const trainer = generateKeyPairSync('ed25519');
    const keyFile = join(mkdtempSync(join(tmpdir(), 'verify-keys-')), 'trainer.pub.pem');
    writeFileSync(keyFile, trainer.publicKey.export({ type: 'spki', format: 'pem' }));
    const bus = new InMemoryBus({ defaultPartitions: 3 });
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    await publish(bus, 'pricing', 1, trainer.privateKey);
    const metrics = new ServiceMetrics('ml-predictor');
    let port = 0;
    const env = { HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', GRPC_PORT: '0', GRPC_HOST: '127.0.0.1', LOG_LEVEL: 'silent', ML_VERIFY_KEYS_FILE: keyFile, ML_MAX_MODELS: '1' };
    const service = await startService(createPredictorService({ onGrpcListening: (p) => (port = p) }), readPredictorConfig(env, { requireBrokers: false }), bus, { metrics });
    const client = createPredictorClient(`127.0.0.1:${port}`);
    const rejected = async () => (await metrics.registry.getSingleMetricAsString('pipeline_ml_models_rejected_total')).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    try {
      expect(await client.predict({ modelName: 'pricing', values: [2], nFeatures: 1 })).toEqual({ predictions: [expect.closeTo(2, 9)], modelName: 'pricing', modelVersion: 1 });
      // Version 2 written with the bus directly (as kcat would), predicting −9999.99 per unit.
      const bytes = encoded('pricing', 2, -9999.99);
      await bus.publish({ topic: INTERNAL_TOPICS.mlModels, key: 'model/pricing/2/chunk/0', value: Buffer.from(bytes) });
      const manifest = { name: 'pricing', version: 2, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, chunks: 1, chunkBytes: bytes.length, publishedAt: '2026-11-27T16:00:00.000Z', metadata: {} };
      await bus.publish({ topic: INTERNAL_TOPICS.mlModels, key: 'model/pricing/2', value: JSON.stringify(manifest) });
      // A signed version of a second name, one more than ML_MAX_MODELS=1.
      await publish(bus, 'other', 1, trainer.privateKey);
      await waitFor(async () => (await rejected()).includes('pipeline_ml_models_rejected_total{reason="model_cap",service="ml-predictor"} 1'), { timeoutMs: 5_000, what: 'other/1 refused' });
      expect(await rejected()).toEqual([
        'pipeline_ml_models_rejected_total{reason="unsigned",service="ml-predictor"} 1',
        'pipeline_ml_models_rejected_total{reason="unknown_key",service="ml-predictor"} 0',
        'pipeline_ml_models_rejected_total{reason="bad_signature",service="ml-predictor"} 0',
        'pipeline_ml_models_rejected_total{reason="unsigned_withdrawal",service="ml-predictor"} 0',
        'pipeline_ml_models_rejected_total{reason="model_cap",service="ml-predictor"} 1',
      ]);
      expect(await client.predict({ modelName: 'pricing', values: [2], nFeatures: 1 })).toEqual({ predictions: [expect.closeTo(2, 9)], modelName: 'pricing', modelVersion: 1 });
      await expect(client.predict({ modelName: 'pricing', version: 2, values: [2], nFeatures: 1 })).rejects.toMatchObject({ code: status.NOT_FOUND });
      // The trainer's own version 2 is served.
      await publish(bus, 'pricing', 2, trainer.privateKey);
      await waitFor(async () => (await client.predict({ modelName: 'pricing', values: [1], nFeatures: 1 })).modelVersion === 2, { timeoutMs: 5_000, what: 'signed pricing/2 served' });
    } finally {
      client.close();
      await service.stop();
      await bus.close();
    }
  });

  it('stops start-up naming ML_VERIFY_KEYS_FILE when the file is missing or holds no Ed25519 public key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'verify-keys-'));
    writeFileSync(join(dir, 'empty.pem'), '');
    const read = (file: string) => () => readPredictorConfig({ ML_VERIFY_KEYS_FILE: file }, { requireBrokers: false });
    expect(read(join(dir, 'missing.pem'))).toThrow(`ML_VERIFY_KEYS_FILE must name a readable PEM file, got "${join(dir, 'missing.pem')}": ENOENT`);
    expect(read(join(dir, 'empty.pem'))).toThrow(`ML_VERIFY_KEYS_FILE (${join(dir, 'empty.pem')}) must hold at least one PEM "PUBLIC KEY" block (Ed25519), found none`);
  });
});

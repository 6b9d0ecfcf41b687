import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INTERNAL_TOPICS, type MlJobCommand, type MlJobStatus } from '@pipeline/contracts';
import { InMemoryBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { ModelRegistryView, parseVerifyKeys } from '@pipeline/model-registry';
import { ServiceMetrics, startService } from '@pipeline/service-runtime';
import { waitFor } from '@pipeline/testing';
import { readTrainerConfig } from './config';
import { createInlineRunner } from './createInlineRunner';
import { createTrainer } from './trainerService';

const rows = Array.from({ length: 40 }, (_, i) => ({ a: i % 8, b: Math.floor(i / 8), y: 2 * (i % 8) - Math.floor(i / 8) + 1 }));

describe('ml-trainer service', () => {
  it('keeps the newest ML_REGISTRY_KEEP_VERSIONS versions of a model in the registry and withdraws the older ones', async () => {
    const bus = new InMemoryBus({ defaultPartitions: 3 });
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const config = readTrainerConfig({ HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'silent', ML_REGISTRY_KEEP_VERSIONS: '2' }, { requireBrokers: false });
    const metrics = new ServiceMetrics('ml-trainer');
    const trainer = await startService(createTrainer({ runner: createInlineRunner() }), config, bus, { metrics });
    const registry = new ModelRegistryView(bus, { topic: INTERNAL_TOPICS.mlModels, groupPrefix: 'spec' });
    const removed: number[] = [];
    registry.onRemoved((_name, version) => removed.push(version));
    await registry.start();
    try {
      const submit = async (jobId: string, name: string) => {
        const command: MlJobCommand = { job_id: jobId, request: { model_name: name, model_type: 'linear_regression', feature_keys: ['a', 'b'], target_key: 'y', data: rows } as never, submitted_at: new Date().toISOString() };
        await bus.publish({ topic: INTERNAL_TOPICS.mlCommands, key: name, value: JSON.stringify(command) });
      };
      const succeeded = () =>
        new Set(
          bus
            .messages(INTERNAL_TOPICS.mlJobs)
            .map((m) => JSON.parse(m.value.toString()) as MlJobStatus)
            .filter((s) => s.status === 'succeeded')
            .map((s) => s.job_id),
        );
      for (let i = 1; i <= 4; i++) await submit(`lin-${i}`, 'lin');
      await submit('other-1', 'other');
      await waitFor(() => succeeded().size === 5, { timeoutMs: 20_000, what: '5 jobs succeeded' });
      await waitFor(async () => (await registry.catchUp(), registry.list().length === 3), { timeoutMs: 5_000, what: 'registry pruned' });
      expect(registry.list().map((m) => `${m.manifest.name}/${m.manifest.version}`)).toEqual(['lin/3', 'lin/4', 'other/1']);
      expect(removed.sort()).toEqual([1, 2]);
      expect(registry.keysOf('lin').every((k) => k.version >= 3)).toBe(true);
      expect(await metrics.registry.getSingleMetricAsString('pipeline_ml_registry_versions_withdrawn_total')).toMatch(/_total\{[^}]*\} 2$/m);
      // The next version number continues after the kept ones.
      await submit('lin-5', 'lin');
      await waitFor(() => succeeded().has('lin-5'), { timeoutMs: 20_000, what: 'job lin-5' });
      await waitFor(async () => (await registry.catchUp(), registry.get('lin', 3) === undefined), { timeoutMs: 5_000, what: 'version 3 withdrawn' });
      expect(registry.list().map((m) => `${m.manifest.name}/${m.manifest.version}`)).toEqual(['lin/4', 'lin/5', 'other/1']);
    } finally {
      await registry.stop();
      await trainer.stop();
      await bus.close();
    }
  });

  it('signs every version it publishes with the ML_SIGNING_KEY_FILE key, so a predictor trusting its public key serves it', async () => {
    const key = generateKeyPairSync('ed25519');
    const dir = mkdtempSync(join(tmpdir(), 'signing-key-'));
    writeFileSync(join(dir, 'trainer.pem'), key.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const bus = new InMemoryBus({ defaultPartitions: 3 });
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const config = readTrainerConfig({ HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'silent', ML_SIGNING_KEY_FILE: join(dir, 'trainer.pem') }, { requireBrokers: false });
    const trainer = await startService(createTrainer({ runner: createInlineRunner() }), config, bus);
    const rejected: string[] = [];
    const verifyKeys = parseVerifyKeys(String(key.publicKey.export({ type: 'spki', format: 'pem' })), 'test');
    const registry = new ModelRegistryView(bus, { topic: INTERNAL_TOPICS.mlModels, groupPrefix: 'spec-signed', verifyKeys, onRejected: (n, v, r) => rejected.push(`${n}/${v}: ${r}`) });
    await registry.start();
    try {
      const command: MlJobCommand = { job_id: 'signed-1', request: { model_name: 'signed', model_type: 'linear_regression', feature_keys: ['a', 'b'], target_key: 'y', data: rows } as never, submitted_at: new Date().toISOString() };
      await bus.publish({ topic: INTERNAL_TOPICS.mlCommands, key: 'signed', value: JSON.stringify(command) });
      await waitFor(async () => (await registry.catchUp(), registry.get('signed') !== undefined), { timeoutMs: 20_000, what: 'signed/1 verified' });
      expect(rejected).toEqual([]);
    } finally {
      await registry.stop();
      await trainer.stop();
      await bus.close();
    }
  });

  it('stops start-up naming ML_SIGNING_KEY_FILE when it is not an Ed25519 private key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'signing-key-'));
    writeFileSync(join(dir, 'public.pem'), generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    expect(() => readTrainerConfig({ ML_SIGNING_KEY_FILE: join(dir, 'public.pem') }, { requireBrokers: false })).toThrow(
      new RegExp(`^ML_SIGNING_KEY_FILE \\(${join(dir, 'public.pem').replace(/[.]/g, '\\.')}\\) must hold a PEM Ed25519 private key \\(PKCS#8, unencrypted\\): `),
    );
  });
});

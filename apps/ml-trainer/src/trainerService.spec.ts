import { INTERNAL_TOPICS, type MlJobCommand, type MlJobStatus } from '@pipeline/contracts';
import { InMemoryBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { ModelRegistryView } from '@pipeline/model-registry';
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
});

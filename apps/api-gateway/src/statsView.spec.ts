import { INTERNAL_TOPICS } from '@pipeline/contracts';
import { InMemoryBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { encodeMarker, markerKey, partitionBase } from '@pipeline/live-state';
import { createLogger } from '@pipeline/service-runtime';
import { metricValue, waitFor } from '@pipeline/testing';
import { Registry } from 'prom-client';
import { createStatsView } from './statsView';

describe('createStatsView', () => {
  it('counts each aggregator write it ignores as fenced in pipeline_gateway_fenced_state_writes_total', async () => {
    const bus = new InMemoryBus({ defaultPartitions: 1 });
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 1, replicationFactor: 1 }));
    const registry = new Registry();
    const stats = createStatsView(bus, createLogger('test', 'silent'), 'agg', registry);
    await stats.start();
    try {
      const key = markerKey(partitionBase('agg', 'events.metrics', 0));
      const marker = (epoch: bigint, round: bigint) => encodeMarker({ round, epoch, nextOffset: 0n, watermarkMs: 0, producedAtMs: 0, shared: new Uint8Array(0) });
      const count = async () => metricValue(await registry.metrics(), 'pipeline_gateway_fenced_state_writes_total');
      expect(await count()).toBe(0);
      // The owner of epoch 2 wrote the key; a write of epoch 1 (a replica paused across the rebalance) comes after it.
      await bus.publish({ topic: INTERNAL_TOPICS.aggregatorSnapshots, key, value: marker(2n, 1n) });
      await bus.publish({ topic: INTERNAL_TOPICS.aggregatorSnapshots, key, value: marker(1n, 5n) });
      await waitFor(async () => (stats.view.fencedWrites === 1 ? true : undefined), { timeoutMs: 5_000, what: 'the stale marker to be seen' });
      expect(await count()).toBe(1);
    } finally {
      await stats.stop();
      await bus.close();
    }
  });
});

import { BATCH_TASKS_TOPIC, COMPACTED_TOPICS, EVENT_TOPICS, INTERNAL_TOPICS } from '@pipeline/contracts';
import type { TopicSpec } from './EventBus';

/**
 * Every topic the pipeline uses, as provisioned at service start. Compacted topics hold latest
 * state per key; snapshot and model topics allow large messages (16 MiB) for sketches and forests.
 */
export function pipelineTopicSpecs(opts: { partitions: number; replicationFactor: number }): TopicSpec[] {
  const large = { 'max.message.bytes': String(16 * 1024 * 1024) };
  return [
    ...EVENT_TOPICS.map((topic) => ({ topic, partitions: opts.partitions, replicationFactor: opts.replicationFactor })),
    ...Object.values(INTERNAL_TOPICS).map((topic) => ({
      topic,
      partitions: opts.partitions,
      replicationFactor: opts.replicationFactor,
      compacted: COMPACTED_TOPICS.includes(topic),
      config: topic === INTERNAL_TOPICS.aggregatorSnapshots || topic === INTERNAL_TOPICS.mlModels || topic === INTERNAL_TOPICS.batchJobs ? large : undefined,
    })),
    { topic: BATCH_TASKS_TOPIC, partitions: opts.partitions, replicationFactor: opts.replicationFactor },
  ];
}

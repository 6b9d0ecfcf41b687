import { BATCH_TASKS_TOPIC, COMPACTED_TOPICS, EVENT_TOPICS, INTERNAL_TOPICS } from '@pipeline/contracts';
import type { TopicSpec } from './EventBus';

/**
 * Every topic the pipeline uses, as provisioned at service start. Compacted topics hold latest
 * state per key; internal topics allow 16 MiB messages (sketch snapshots, forests, inline job data).
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
      // Snapshots, models, job results and inline job commands can exceed Kafka's 1 MiB default.
      config: topic === INTERNAL_TOPICS.deadLetter ? undefined : large,
    })),
    { topic: BATCH_TASKS_TOPIC, partitions: opts.partitions, replicationFactor: opts.replicationFactor, config: large },
  ];
}

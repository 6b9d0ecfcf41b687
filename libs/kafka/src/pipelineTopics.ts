import { BATCH_TASKS_TOPIC, COMPACTED_TOPICS, EVENT_TOPICS, INTERNAL_TOPICS } from '@pipeline/contracts';
import type { TopicSpec } from './EventBus';

/**
 * Topic configs of every compacted topic the buses create. Segments roll every minute and the cleaner
 * runs at 10 % dirty, so superseded values go soon; tombstones stay 60 s (delete.retention.ms), long
 * enough for a reader that is catching up to see them. min.compaction.lag.ms keeps each record at least
 * 60 s before the cleaner may drop it: a stale aggregator write that lands after its partition's new
 * owner wrote the same key is rewritten by that owner's next round, well before compaction could leave
 * only the stale value (see ExactlyOnceState, "Fencing"). The Strimzi topics (deploy/k8s) say the same.
 */
export const COMPACTED_TOPIC_CONFIG: Readonly<Record<string, string>> = Object.freeze({
  'cleanup.policy': 'compact',
  'min.cleanable.dirty.ratio': '0.1',
  'segment.ms': '60000',
  'delete.retention.ms': '60000',
  'min.compaction.lag.ms': '60000',
});

/**
 * How long a topic whose old records are deleted (cleanup.policy=delete) keeps them: Kafka's
 * `retention.ms` and `retention.bytes`. Whichever limit is reached first deletes the oldest segment.
 */
export interface TopicRetention {
  /** retention.ms: records older than this (by record timestamp, i.e. event time) are deleted; -1: no time limit. */
  ms: number;
  /**
   * retention.bytes, per partition (not per topic, not per replica); -1: no size limit. Kafka deletes
   * whole segments, so a partition holds up to this plus one segment (segment.bytes, 1 GiB by default).
   */
  bytes: number;
}

/**
 * 7 days and 16 GiB per partition. The byte cap keeps a burst from filling the broker's disk: at
 * 2,000 events/s (~32 MB/min, 46 GB/day on one topic) 3 partitions × 16 GiB hold ~27 hours; below
 * ~320 events/s the 7 days come first. See docs/deploy.md "Sizing retention".
 */
export const DEFAULT_TOPIC_RETENTION: TopicRetention = Object.freeze({ ms: 7 * 24 * 60 * 60 * 1000, bytes: 16 * 1024 ** 3 });

/** The pipeline topics whose records expire, i.e. every one but the compacted ones: retention applies to these. */
export const RETAINED_TOPICS: readonly string[] = [
  ...EVENT_TOPICS,
  ...Object.values(INTERNAL_TOPICS).filter((t) => !COMPACTED_TOPICS.includes(t)),
  BATCH_TASKS_TOPIC,
];

/**
 * Every topic the pipeline uses, as provisioned at service start. Compacted topics hold latest
 * state per key; the others get `retention` (per topic, default DEFAULT_TOPIC_RETENTION); internal
 * topics allow 16 MiB messages (sketch snapshots, forests, inline job data).
 */
export function pipelineTopicSpecs(opts: { partitions: number; replicationFactor: number; retention?: Readonly<Record<string, TopicRetention>> }): TopicSpec[] {
  const large = { 'max.message.bytes': String(16 * 1024 * 1024) };
  const retention = (topic: string) => {
    const r = opts.retention?.[topic] ?? DEFAULT_TOPIC_RETENTION;
    return { 'retention.ms': String(r.ms), 'retention.bytes': String(r.bytes) };
  };
  return [
    ...EVENT_TOPICS.map((topic) => ({ topic, partitions: opts.partitions, replicationFactor: opts.replicationFactor, config: retention(topic) })),
    ...Object.values(INTERNAL_TOPICS).map((topic) => {
      const compacted = COMPACTED_TOPICS.includes(topic);
      return {
        topic,
        partitions: opts.partitions,
        replicationFactor: opts.replicationFactor,
        compacted,
        config: {
          ...(compacted ? {} : retention(topic)),
          // Snapshots, models, job results and inline job commands can exceed Kafka's 1 MiB default.
          ...(topic === INTERNAL_TOPICS.deadLetter ? {} : large),
        },
      };
    }),
    { topic: BATCH_TASKS_TOPIC, partitions: opts.partitions, replicationFactor: opts.replicationFactor, config: { ...retention(BATCH_TASKS_TOPIC), ...large } },
  ];
}

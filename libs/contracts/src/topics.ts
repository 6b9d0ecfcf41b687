/** The six event topics producers write to (the report's `EventTopic` enum). */
export const EVENT_TOPICS = [
  'events.analytics',
  'events.devices',
  'events.reality',
  'events.errors',
  'events.metrics',
  'events.user',
] as const;
export type EventTopic = (typeof EVENT_TOPICS)[number];

/**
 * Internal topics. `compacted` topics hold latest state per key (snapshots, job status, model
 * registry); the rest are logs.
 */
export const INTERNAL_TOPICS = {
  deadLetter: 'pipeline.deadletter',
  aggregatorSnapshots: 'pipeline.aggregator.snapshots',
  mlCommands: 'pipeline.ml.commands',
  mlJobs: 'pipeline.ml.jobs',
  mlModels: 'pipeline.ml.models',
  batchCommands: 'pipeline.batch.commands',
  batchJobs: 'pipeline.batch.jobs',
} as const;
export type InternalTopic = (typeof INTERNAL_TOPICS)[keyof typeof INTERNAL_TOPICS];

export const COMPACTED_TOPICS: readonly string[] = [
  INTERNAL_TOPICS.aggregatorSnapshots,
  INTERNAL_TOPICS.mlJobs,
  INTERNAL_TOPICS.mlModels,
  INTERNAL_TOPICS.batchJobs,
];

const eventTopicSet: ReadonlySet<string> = new Set(EVENT_TOPICS);
export function isEventTopic(topic: unknown): topic is EventTopic {
  return typeof topic === 'string' && eventTopicSet.has(topic);
}

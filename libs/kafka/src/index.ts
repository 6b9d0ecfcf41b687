export type {
  EventBus,
  BusObserver,
  OutgoingMessage,
  IncomingMessage,
  MessageBatch,
  SubscribeOptions,
  Subscription,
  CommitMode,
  TopicPartition,
  TopicPartitionOffset,
  TopicSpec,
  ReadRangeOptions,
} from './EventBus';
export { BusError, BusUnavailableError, BusAuthenticationError, BusTlsError, BusMessageTooLargeError, toBusError, withRetries } from './errors';
export { KafkaJsBus } from './KafkaJsBus';
export type { KafkaJsBusOptions, BusLogger, KafkaSaslMechanism, KafkaSaslOptions, KafkaSslOptions } from './KafkaJsBus';
export { PlatformaticBus } from './PlatformaticBus';
export type { PlatformaticBusOptions } from './PlatformaticBus';
export { createKafkaBus, KAFKA_CLIENTS, DEFAULT_KAFKA_CLIENT } from './createKafkaBus';
export type { KafkaBusOptions, KafkaClient } from './createKafkaBus';
export { InMemoryBus } from './InMemoryBus';
export { partitionForKey } from './partitionForKey';
export { COMPACTED_TOPIC_CONFIG, DEFAULT_TOPIC_RETENTION, pipelineTopicSpecs, RETAINED_TOPICS } from './pipelineTopics';
export type { TopicRetention } from './pipelineTopics';
export { PipelineClient, toOutgoing } from './PipelineClient';
export { CompactedTopicView } from './CompactedTopicView';
export type { CompactedTopicViewOptions } from './CompactedTopicView';

import { INTERNAL_TOPICS } from '@pipeline/contracts';
import { AggregateView } from '@pipeline/aggregation';
import { CompactedTopicView, type EventBus } from '@pipeline/kafka';
import type { Logger } from '@pipeline/service-runtime';

/**
 * The gateway's materialized view of the aggregator: it tails the compacted snapshot topic (its own
 * throw-away group, from the beginning), reassembles the chunked snapshots and merges the most
 * advanced one of every input partition. Reads never call the aggregator, so any number of gateway
 * replicas can serve stats.
 */
export function createStatsView(bus: EventBus, logger: Logger, aggregatorGroup: string): { view: AggregateView; topicView: CompactedTopicView<never> } {
  const view = new AggregateView({ group: aggregatorGroup, onError: (err, key) => logger.warn({ err, key }, 'ignoring undecodable aggregator snapshot') });
  const topicView = CompactedTopicView.forwarding(bus, {
    topic: INTERNAL_TOPICS.aggregatorSnapshots,
    groupPrefix: 'pipeline-gateway-stats',
    onMessage: (key, value) => view.feed(key, value),
  });
  return { view, topicView };
}

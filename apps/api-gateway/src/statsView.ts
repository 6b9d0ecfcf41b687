import { INTERNAL_TOPICS } from '@pipeline/contracts';
import { AggregateView, snapshotDecoder, type PartitionSnapshot } from '@pipeline/aggregation';
import { CompactedTopicView, type EventBus } from '@pipeline/kafka';
import type { Logger } from '@pipeline/service-runtime';

/**
 * The gateway's materialized view of the aggregator: it tails the compacted snapshot topic (its own
 * throw-away group, from the beginning) and merges the most advanced snapshot of every input
 * partition. Reads never call the aggregator, so any number of gateway replicas can serve stats.
 */
export function createStatsView(bus: EventBus, logger: Logger, aggregatorGroup: string): { view: AggregateView; topicView: CompactedTopicView<PartitionSnapshot> } {
  const view = new AggregateView();
  const decode = snapshotDecoder(aggregatorGroup, (err, key) => logger.warn({ err, key }, 'ignoring undecodable aggregator snapshot'));
  const topicView = new CompactedTopicView<PartitionSnapshot>(bus, {
    topic: INTERNAL_TOPICS.aggregatorSnapshots,
    groupPrefix: 'pipeline-gateway-stats',
    decode: (m) => decode(m.key, m.value),
    // No `accept` policy here: AggregateView.apply itself keeps the most advanced snapshot per partition.
    onUpdate: (key, snap) => {
      if (snap) view.apply(key, snap);
    },
  });
  return { view, topicView };
}

import { EVENT_TOPICS, INTERNAL_TOPICS } from '@pipeline/contracts';
import { BusError, CompactedTopicView, type EventBus } from '@pipeline/kafka';
import { LiveStatsView } from '@pipeline/live-state';
import type { Logger } from '@pipeline/service-runtime';
import { Counter, type Registry } from 'prom-client';

/**
 * The gateway's view of the aggregator: it tails the compacted state topic (its own throw-away
 * group, from the beginning) and indexes each partition's series entries by metric; a read decodes
 * and merges only the asked metric's series (see LiveStatsView). Reads never call the aggregator, so
 * any number of gateway replicas can serve stats. `start` first reads the partition count of each
 * event topic the aggregator consumes: the answers' `completeness.partitions_total` (read once; a
 * topic given more partitions later shows in `partitions_reported` only after a gateway restart).
 */
export function createStatsView(bus: EventBus, logger: Logger, aggregatorGroup: string, registry: Registry): { view: LiveStatsView; start(): Promise<void>; stop(): Promise<void> } {
  const fenced = new Counter({
    name: 'pipeline_gateway_fenced_state_writes_total',
    help: 'Aggregator state writes this gateway ignored because a later owner of their partition had written the key (a replica that kept going after a rebalance)',
    registers: [registry],
  });
  const view = new LiveStatsView({
    group: aggregatorGroup,
    onError: (err, key) => logger.warn({ err, key }, 'ignoring an undecodable aggregator state message'),
    // A write of an aggregator replica that kept going after a rebalance gave its partition to another.
    onFenced: (f) => {
      fenced.inc();
      logger.warn({ key: f.key, epoch: f.epoch.toString(), heldEpoch: f.heldEpoch.toString(), fencedWrites: view.fencedWrites }, 'ignoring a stale aggregator write (fenced by a later owner of its partition)');
    },
  });
  const topicView = CompactedTopicView.forwarding(bus, {
    topic: INTERNAL_TOPICS.aggregatorSnapshots,
    groupPrefix: 'pipeline-gateway-stats',
    onMessage: (key, value) => view.feed(key, value),
  });
  return {
    view,
    async start() {
      for (const topic of EVENT_TOPICS) {
        try {
          view.setInputPartitions(topic, (await bus.partitionsFor(topic)).length);
        } catch (err) {
          // A missing topic (deleted by an operator) or Kafka down must not stop the gateway: partitions_total stays null.
          if (!(err instanceof BusError) || err.retriable) throw err;
          logger.warn({ err: err.message, topic }, 'cannot read the partition count of an event topic: stats answers say partitions_total null for it');
        }
      }
      await topicView.start();
    },
    stop: () => topicView.stop(),
  };
}

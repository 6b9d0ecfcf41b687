import { EVENT_TOPICS, INTERNAL_TOPICS } from '@pipeline/contracts';
import { BusError, CompactedTopicView, type EventBus } from '@pipeline/kafka';
import { LiveStatsView } from './LiveStatsView';

export interface FollowLiveStatsOptions {
  /** Consumer group of the aggregator deployment whose state to read (AGG_GROUP_ID). */
  group: string;
  /** The reader's name (EventBus.follow), e.g. `pipeline-gateway-stats`. */
  name: string;
  /** Where problems go that do not stop the view (undecodable or fenced messages, an unknown partition count). */
  warn(fields: Record<string, unknown>, message: string): void;
  /** Called for each write of a stale aggregator the view ignored (after `warn`), e.g. to count it. */
  onFenced?: () => void;
  /** Keep no series states (LiveStatsView `seriesOnly`): for a service that judges new series but serves no stats. */
  seriesOnly?: boolean;
}

/**
 * A LiveStatsView of an aggregator deployment, fed by a reader of the state topic outside any
 * consumer group (from the beginning), so any number of replicas of a service can serve stats or
 * judge new series (`seriesRefusal`) without calling the aggregator. `start` first reads the
 * partition count of each event topic the aggregator consumes: the answers' `partitions_total` and
 * the partitions `seriesRefusal` maps keys to (read once; a topic given more partitions later shows
 * only after a restart). Memory: the view holds the state topic's series states as bytes.
 */
/**
 * Most state-topic messages the view may have fetched and not indexed yet before the next fetch
 * (a few MB with the fetch responses they are slices of). Without a bound a gateway catching up on
 * 100,000 series queued up to 124,000, ~35 MB more external memory at its peak.
 */
const MAX_QUEUED_STATE_MESSAGES = 5_000;

export function followLiveStats(bus: EventBus, opts: FollowLiveStatsOptions): { view: LiveStatsView; start(): Promise<void>; stop(): Promise<void> } {
  const view = new LiveStatsView({
    group: opts.group,
    seriesOnly: opts.seriesOnly,
    onError: (err, key) => opts.warn({ err, key }, 'ignoring an undecodable aggregator state message'),
    // A write of an aggregator replica that kept going after a rebalance gave its partition to another.
    onFenced: (f) => {
      opts.warn({ key: f.key, epoch: f.epoch.toString(), heldEpoch: f.heldEpoch.toString(), fencedWrites: view.fencedWrites }, 'ignoring a stale aggregator write (fenced by a later owner of its partition)');
      opts.onFenced?.();
    },
  });
  const topicView = CompactedTopicView.forwarding(bus, {
    topic: INTERNAL_TOPICS.aggregatorSnapshots,
    groupPrefix: opts.name,
    onMessage: (key, value) => view.feed(key, value),
    // The next batch is fetched once the view is down to this many messages to index (see LiveStatsView.indexed).
    afterBatch: () => view.indexed(MAX_QUEUED_STATE_MESSAGES),
  });
  return {
    view,
    async start() {
      for (const topic of EVENT_TOPICS) {
        try {
          view.setInputPartitions(topic, (await bus.partitionsFor(topic)).length);
        } catch (err) {
          // A missing topic (deleted by an operator) or Kafka down must not stop the service: partitions_total stays null.
          if (!(err instanceof BusError) || err.retriable) throw err;
          opts.warn({ err: err.message, topic }, 'cannot read the partition count of an event topic: stats answers say partitions_total null for it, and its new series are not judged');
        }
      }
      await topicView.start();
    },
    stop: () => topicView.stop(),
  };
}

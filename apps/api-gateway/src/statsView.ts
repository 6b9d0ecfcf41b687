import { followLiveStats, type LiveStatsView } from '@pipeline/live-state';
import type { Logger } from '@pipeline/service-runtime';
import { Counter, type Registry } from 'prom-client';

/**
 * The gateway's view of the aggregator (see followLiveStats): it indexes each partition's series
 * entries by metric; a read decodes and merges only the asked metric's series (see LiveStatsView).
 * Reads never call the aggregator, so any number of gateway replicas can serve stats.
 */
export function createStatsView(bus: Parameters<typeof followLiveStats>[0], logger: Logger, aggregatorGroup: string, registry: Registry): { view: LiveStatsView; start(): Promise<void>; stop(): Promise<void> } {
  const fenced = new Counter({
    name: 'pipeline_gateway_fenced_state_writes_total',
    help: 'Aggregator state writes this gateway ignored because a later owner of their partition had written the key (a replica that kept going after a rebalance)',
    registers: [registry],
  });
  return followLiveStats(bus, { group: aggregatorGroup, name: 'pipeline-gateway-stats', warn: (fields, message) => logger.warn(fields, message), onFenced: () => fenced.inc() });
}

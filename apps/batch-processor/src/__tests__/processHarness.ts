import { pipelineTopicSpecs, toOutgoing } from '@pipeline/kafka';
import { startService } from '@pipeline/service-runtime';
import { createTestBus, httpRequest, kafkaBrokers, spawnApp } from '@pipeline/testing';
import { createGateway, readGatewayConfig } from '../../../api-gateway/src/index';

/** A batch-processor as its own process (dist/apps/batch-processor/main.js, built by `npm test` or scripts/build.mjs). */
export async function spawnProcessor(env: { groupId: string; workerId: string; extra?: Record<string, string> }) {
  const app = await spawnApp('batch-processor', { BATCH_GROUP_ID: env.groupId, BATCH_WORKER_ID: env.workerId, ...env.extra });
  return {
    url: app.url,
    workerId: env.workerId,
    /** This replica's assigned partitions, as it reports them. */
    async assignments(): Promise<{ topic: string; partition: number }[]> {
      const r = await httpRequest(`${app.url}/v1/batch/worker`);
      return r.status === 200 ? r.json.assignments : [];
    },
    ready: () => app.ready(),
    kill: (signal: NodeJS.Signals = 'SIGTERM') => app.kill(signal),
  };
}
export type Processor = Awaited<ReturnType<typeof spawnProcessor>>;

/** The gateway in this process on the real broker, on a free port. */
export async function startGateway(env: Record<string, string> = {}) {
  const bus = createTestBus({ brokers: kafkaBrokers(), clientId: 'gateway-batch-test' });
  await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 })); // as runMain does
  const gateway = await startService(createGateway, readGatewayConfig({ KAFKA_BROKERS: kafkaBrokers().join(','), HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent', ...env }), bus);
  return {
    url: `http://127.0.0.1:${gateway.port}`,
    async stop() {
      await gateway.stop();
      await bus.close();
    },
  };
}

/**
 * Metric envelopes of `metricName`, one per `stepMs` from `startMs`, integer values (so every merge
 * order sums exactly), 3 groups.
 */
export function metricEnvelopes(n: number, startMs: number, topic: string, stepMs = 1000, metricName = 'm') {
  return Array.from({ length: n }, (_, i) => ({
    id: `e${i}`,
    topic,
    type: 'metrics',
    key: `m|g${i % 3}|${i % 11}`,
    source: 'batch-test',
    schema_version: 1,
    timestamp: new Date(startMs + i * stepMs).toISOString(),
    payload: { metric_name: metricName, value: (i % 13) - 6, group_by: `g${i % 3}` },
  }));
}

/** Publishes envelopes with their key and event time as the record timestamp, in produce requests of 5,000. */
export async function publishEnvelopes(events: ReturnType<typeof metricEnvelopes>) {
  const bus = createTestBus({ brokers: kafkaBrokers(), clientId: 'batch-test-producer' });
  try {
    for (let i = 0; i < events.length; i += 5_000) await bus.publishBatch(events.slice(i, i + 5_000).map((e) => toOutgoing(e as never)));
  } finally {
    await bus.close();
  }
}

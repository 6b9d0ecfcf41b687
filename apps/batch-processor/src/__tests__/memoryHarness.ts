import { BATCH_TASKS_TOPIC, INTERNAL_TOPICS, parseBatchJobKey, type BatchJobRecord } from '@pipeline/contracts';
import { InMemoryBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { startService, type RunningService } from '@pipeline/service-runtime';
import { createGateway, readGatewayConfig } from '../../../api-gateway/src/index';
import { createBatchProcessor, readBatchProcessorConfig } from '../index';

/**
 * Gateway + N batch-processor replicas on one InMemoryBus (the embedded mode), each on a free
 * loopback port. Replica i is named `replica-i`. `omitTopics`: pipeline topics not to create (e.g. an
 * event topic an operator deleted).
 */
export async function startBatchServices(opts: { replicas?: number; env?: Record<string, string>; bus?: InMemoryBus; omitTopics?: readonly string[] } = {}) {
  const bus = opts.bus ?? new InMemoryBus({ defaultPartitions: 3, retryDelayMs: 10 });
  await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }).filter((s) => !opts.omitTopics?.includes(s.topic)));
  const base: Record<string, string> = { HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent', BATCH_WATCHDOG_INTERVAL_MS: '20', ...opts.env };
  const services: RunningService[] = [];
  for (let i = 0; i < (opts.replicas ?? 1); i++) {
    services.push(await startService(createBatchProcessor, readBatchProcessorConfig({ ...base, BATCH_WORKER_ID: `replica-${i}` }, { requireBrokers: false }), bus));
  }
  const gateway = await startService(createGateway, readGatewayConfig({ ...base, SYNC_WAIT_MS: base['SYNC_WAIT_MS'] ?? '2000' }, { requireBrokers: false }), bus);
  services.push(gateway);
  return {
    bus,
    url: `http://127.0.0.1:${gateway.port}`,
    processors: services.slice(0, -1),
    /** Status records written for a job, in order. */
    statusHistory(jobId: string): BatchJobRecord[] {
      return bus
        .messages(INTERNAL_TOPICS.batchJobs)
        .filter((m) => m.key !== null && parseBatchJobKey(m.key)?.kind === 'status' && parseBatchJobKey(m.key)?.jobId === jobId)
        .sort((a, b) => Number(a.offset) - Number(b.offset))
        .map((m) => JSON.parse(m.value.toString()) as BatchJobRecord);
    },
    tasks: () => bus.messages(BATCH_TASKS_TOPIC),
    async stop() {
      for (const s of services.reverse()) await s.stop();
      await bus.close();
    },
  };
}

/** Metric events as envelopes on `topic`, one per second from `startMs`, value i mod 7 − 3, group g(i mod 3). */
export function metricEvents(n: number, startMs: number, topic = 'events.metrics') {
  return Array.from({ length: n }, (_, i) => ({
    id: `e${i}`,
    topic,
    type: 'metrics',
    key: `m|g${i % 3}`,
    source: 'test',
    schema_version: 1,
    timestamp: new Date(startMs + i * 1000).toISOString(),
    payload: { metric_name: 'm', value: (i % 7) - 3, group_by: `g${i % 3}` },
  }));
}

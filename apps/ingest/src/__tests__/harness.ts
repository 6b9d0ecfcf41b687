import { pipelineTopicSpecs, type EventBus, type IncomingMessage, type Subscription } from '@pipeline/kafka';
import { ServiceMetrics, startService, type RunningService } from '@pipeline/service-runtime';
import { createTestBus, kafkaBrokers, uniqueName, waitFor } from '@pipeline/testing';
import { createGateway, readGatewayConfig } from '../../../api-gateway/src/index';
import { createIngest, readIngestConfig } from '../index';

/** Ingest + gateway in this process on the real broker, each on a free loopback port. */
export async function startIngestAndGateway(env: Record<string, string> = {}, brokers = kafkaBrokers(), opts: { publishTimeoutMs?: number } = {}) {
  const base = { KAFKA_BROKERS: brokers.join(','), HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent', ...env };
  const buses: EventBus[] = [];
  const bus = (id: string, metrics?: ServiceMetrics) => {
    const b = createTestBus({ brokers, clientId: id, publishTimeoutMs: opts.publishTimeoutMs ?? 4_000, observer: metrics?.busObserver() });
    buses.push(b);
    return b;
  };
  const ingestMetrics = new ServiceMetrics('ingest');
  const ingestBus = bus('ingest-test', ingestMetrics);
  await ingestBus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
  const ingest = await startService(createIngest, readIngestConfig({ ...base, VALIDATOR_GROUP_ID: env['VALIDATOR_GROUP_ID'] ?? 'pipeline-ingest-validator' }), ingestBus, { metrics: ingestMetrics });
  const gateway = await startService(createGateway, readGatewayConfig({ ...base, INGEST_URL: `http://127.0.0.1:${ingest.port}` }), bus('gateway-test'));
  const services: RunningService[] = [ingest, gateway];
  return {
    ingestUrl: `http://127.0.0.1:${ingest.port}`,
    gatewayUrl: `http://127.0.0.1:${gateway.port}`,
    ingest,
    gateway,
    async stop() {
      for (const s of services) await s.stop();
      for (const b of buses) await b.close();
    },
  };
}

/** Collects everything published to `topics` from now on (and from the beginning if asked), in a fresh group. */
export async function collect(topics: string[], opts: { fromBeginning?: boolean; brokers?: string[] } = {}) {
  const bus = createTestBus({ brokers: opts.brokers ?? kafkaBrokers(), clientId: 'collector' });
  const messages: IncomingMessage[] = [];
  const sub: Subscription = await bus.subscribe({ groupId: uniqueName('collector'), topics, fromBeginning: opts.fromBeginning ?? true, handler: async (b) => void messages.push(...b.messages) });
  return {
    messages,
    find: (pred: (m: IncomingMessage) => boolean) => messages.filter(pred),
    async waitFor(pred: (m: IncomingMessage) => boolean, count = 1, timeoutMs = 20_000): Promise<IncomingMessage[]> {
      return waitFor<IncomingMessage[] | undefined>(() => (messages.filter(pred).length >= count ? messages.filter(pred) : undefined), { timeoutMs, what: `${count} matching message(s)` }) as Promise<IncomingMessage[]>;
    },
    async stop() {
      await sub.stop();
      await bus.close();
    },
  };
}

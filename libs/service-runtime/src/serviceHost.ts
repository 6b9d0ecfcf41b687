import type { Express } from 'express';
import type { Server } from 'node:http';
import { BusAuthenticationError, BusTlsError, createKafkaBus, pipelineTopicSpecs, type EventBus, type KafkaBusOptions } from '@pipeline/kafka';
import type { BaseConfig } from './config';
import { createLogger, type Logger } from './logger';
import { ServiceMetrics } from './metrics';
import { closeServer, createServiceApp, listen, type ReadinessCheck } from './serviceApp';
import { onShutdown } from './shutdown';

export interface ServiceContext<C extends BaseConfig> {
  config: C;
  bus: EventBus;
  metrics: ServiceMetrics;
  logger: Logger;
}

/** What an app contributes: its routes, extra readiness checks, and start/stop of its consumers. */
export interface ServiceInstance {
  routes?(app: Express): void;
  /**
   * The routes are for other services only (ingest): with INTERNAL_TOKEN_FILE set, they answer 401
   * unless the caller presents the internal token. /healthz, /readyz and /metrics stay open.
   */
  internalOnly?: boolean;
  readiness?: ReadinessCheck[];
  /** Starts consumers/servers; called after the HTTP server listens. */
  start?(): Promise<void>;
  /** Finishes in-flight work and commits offsets; called before the bus closes. */
  stop?(): Promise<void>;
}

export type ServiceFactory<C extends BaseConfig> = (ctx: ServiceContext<C>) => ServiceInstance | Promise<ServiceInstance>;

export interface RunningService {
  name: string;
  server: Server;
  port: number;
  metrics: ServiceMetrics;
  /** Stops taking HTTP requests, stops the service (offsets committed), leaves the bus open. */
  stop(): Promise<void>;
}

/**
 * Starts one service on a given bus: HTTP server with /healthz, /readyz (bus first), /metrics and the
 * service's routes, then the service's consumers. Used by each app's main.ts (Kafka bus) and by the
 * embedded mode (in-memory bus, all services in one process).
 */
export async function startService<C extends BaseConfig>(
  factory: ServiceFactory<C>,
  config: C,
  bus: EventBus,
  opts: { logger?: Logger; metrics?: ServiceMetrics; isShuttingDown?: () => boolean } = {},
): Promise<RunningService> {
  const logger = opts.logger ?? createLogger(config.serviceName, config.logLevel);
  const metrics = opts.metrics ?? new ServiceMetrics(config.serviceName);
  const instance = await factory({ config, bus, metrics, logger });
  let stopping = false;
  if (instance.internalOnly && !config.internalTokens && bus.kind === 'kafka') {
    logger.warn(`INTERNAL_TOKEN_FILE is not set: ${config.serviceName}'s routes answer any caller that reaches its port`);
  }
  const app = createServiceApp({
    metrics,
    logger,
    readiness: [{ name: bus.kind === 'kafka' ? 'kafka' : 'bus', check: () => bus.ping() }, ...(instance.readiness ?? [])],
    isShuttingDown: () => stopping || (opts.isShuttingDown?.() ?? false),
    routes: instance.routes?.bind(instance),
    internalTokens: instance.internalOnly ? config.internalTokens : undefined,
  });
  const server = await listen(app, config.httpHost, config.httpPort);
  const port = (server.address() as { port: number }).port;
  await instance.start?.();
  logger.info({ port, bus: bus.kind }, `${config.serviceName} started`);
  return {
    name: config.serviceName,
    server,
    port,
    metrics,
    stop: async () => {
      stopping = true;
      await closeServer(server);
      await instance.stop?.();
    },
  };
}

/** The options of a service's Kafka bus, from its configuration (brokers, client, TLS, SASL login, topic defaults); runMain adds metrics and the logger. */
export function kafkaBusOptions(config: BaseConfig): KafkaBusOptions {
  return {
    client: config.kafkaClient,
    brokers: config.kafkaBrokers,
    clientId: config.kafkaClientId,
    ssl: config.kafkaSsl,
    sasl: config.kafkaSasl,
    defaultPartitions: config.topicPartitions,
    replicationFactor: config.replicationFactor,
    sessionTimeoutMs: config.sessionTimeoutMs,
    maxBytesPerPartition: config.fetchBytesPerPartition,
    heartbeatIntervalMs: Math.max(1_000, Math.floor(config.sessionTimeoutMs / 10)),
  };
}

/**
 * The whole of an app's main.ts: read config (fail fast with the variable's name), connect to Kafka,
 * provision topics, start the service, and shut down gracefully on SIGTERM.
 */
export async function runMain<C extends BaseConfig>(factory: ServiceFactory<C>, readConfig: () => C): Promise<void> {
  let config: C;
  try {
    config = readConfig();
  } catch (e) {
    process.stderr.write(`configuration error: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger(config.serviceName, config.logLevel);
  const metrics = new ServiceMetrics(config.serviceName);
  const bus = createKafkaBus({ ...kafkaBusOptions(config), observer: metrics.busObserver(), logger });
  let running: RunningService | undefined;
  const lifecycle = onShutdown(logger, config.shutdownTimeoutMs, [
    ['service', async () => running?.stop()],
    ['bus', async () => bus.close()],
  ]);
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  try {
    // Provisioning retries until the broker answers, so services may start before Kafka does.
    for (let attempt = 0; ; attempt++) {
      try {
        await bus.ensureTopics(pipelineTopicSpecs({ partitions: config.topicPartitions, replicationFactor: config.replicationFactor, retention: config.topicRetention }));
        break;
      } catch (err) {
        if (lifecycle.isShuttingDown()) return;
        // A refused login or a failed TLS handshake (certificate not accepted, TLS on one side only) does not get
        // better by retrying: fail start-up and say why (the password is never in the message).
        if (err instanceof BusAuthenticationError || err instanceof BusTlsError) throw err;
        logger.warn({ err: (err as Error).message, attempt }, 'Kafka not reachable yet; retrying topic provisioning');
        await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** attempt)));
      }
    }
    running = await startService(factory, config, bus, { logger, metrics, isShuttingDown: lifecycle.isShuttingDown });
  } catch (err) {
    logger.fatal({ err }, 'failed to start');
    await bus.close().catch(() => undefined);
    process.exit(1);
  }
}

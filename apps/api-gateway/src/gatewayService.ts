import { Worker } from 'node:worker_threads';
import { INTERNAL_TOPICS } from '@pipeline/contracts';
import { BatchJobsView } from '@pipeline/jobs';
import { HttpError, jsonBody, type ServiceFactory } from '@pipeline/service-runtime';
import { createAdhocMlRunner } from './adhocMl';
import { apiKeyAuth, rateLimit, requireScope } from './auth';
import type { GatewayConfig } from './config';
import { docsRoutes } from './docs';
import { buildOpenApi, type OpenApiPaths } from './openapi';
import { aggregateRoutes } from './routes/aggregate';
import { batchOpenApiPaths, batchRoutes } from './routes/batch';
import { eventsRoutes } from './routes/events';
import { createMlRoutes } from './routes/ml';
import { statsOpenApi, statsRoutes } from './routes/stats';
import { createStatsView } from './statsView';

/**
 * The public REST surface. Thin: it validates, forwards to ingest (events), publishes metric events
 * (aggregate), and reads the other services' state from Kafka-fed views (stats, ML, batch).
 */
export const createGateway: ServiceFactory<GatewayConfig> = ({ config, bus, metrics, logger }) => {
  metrics.expectTopics({
    published: ['events.metrics', INTERNAL_TOPICS.mlCommands, INTERNAL_TOPICS.mlJobs, INTERNAL_TOPICS.batchCommands, INTERNAL_TOPICS.batchJobs],
    consumed: [INTERNAL_TOPICS.aggregatorSnapshots, INTERNAL_TOPICS.mlJobs, INTERNAL_TOPICS.batchJobs],
  });
  const extraPaths: OpenApiPaths = { ...statsOpenApi };
  const stats = createStatsView(bus, logger, config.aggregatorGroup, metrics.registry);
  const startViews: Array<() => Promise<void>> = [() => stats.start()];
  const stopViews: Array<() => Promise<void>> = [() => stats.stop()];
  const batchJobs = new BatchJobsView(bus, { groupPrefix: 'pipeline-gateway-batch-view', keepPartials: false });
  Object.assign(extraPaths, batchOpenApiPaths);
  startViews.push(() => batchJobs.start());
  stopViews.push(() => batchJobs.stop());
  if (!config.adhocWorkerPath) logger.warn('ADHOC_WORKER_PATH is empty: ad-hoc clustering and anomaly detection run on the event loop');
  const adhoc = createAdhocMlRunner(config.adhocWorkerPath ? () => new Worker(config.adhocWorkerPath) : undefined);
  // The internal token (INTERNAL_TOKEN_FILE): the first is sent to ingest and to the predictor.
  const internalToken = config.internalTokens?.[0];
  const ml = createMlRoutes({ bus, predictorAddress: config.predictorAddress, internalToken, registry: metrics.registry, adhoc, syncWaitMs: config.syncWaitMs });
  Object.assign(extraPaths, ml.openApiPaths);
  startViews.push(() => ml.start());
  stopViews.push(() => ml.stop());
  let doc: object | undefined;
  return {
    routes(app) {
      docsRoutes(app, () => (doc ??= buildOpenApi(extraPaths)));
      app.use('/pipeline', apiKeyAuth(config.apiKeys), requireScope(), rateLimit(config.rateLimitPerSec));
      // Events are streamed to ingest untouched; every other /pipeline route takes JSON.
      eventsRoutes(app, { ingestUrl: config.ingestUrl, bodyLimitBytes: config.bodyLimitBytes, internalToken });
      app.use('/pipeline', (req, _res, next) => {
        if (req.method === 'GET' || req.method === 'DELETE' || req.method === 'HEAD') return next();
        const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        if (type !== 'application/json') {
          req.resume();
          return next(new HttpError(415, 'unsupported_media_type', `Content-Type must be application/json, got ${type ? `"${type}"` : 'none'}`));
        }
        next();
      });
      app.use('/pipeline', jsonBody({ limitBytes: config.bodyLimitBytes, expected: 'a JSON object' }));
      aggregateRoutes(app, bus, { maxFutureSkewMs: config.maxFutureSkewSeconds * 1000, liveSeries: stats.view });
      batchRoutes(app, { bus, view: batchJobs, syncWaitMs: config.syncWaitMs });
      statsRoutes(app, stats.view);
      ml.register(app);
    },
    async start() {
      for (const start of startViews) await start();
    },
    async stop() {
      for (const stop of stopViews) await stop();
    },
  };
};

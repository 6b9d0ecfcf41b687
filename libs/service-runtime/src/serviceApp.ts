import express, { type Express } from 'express';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { checkRouteMatch } from './checkRouteMatch';
import { errorHandler, notFoundHandler } from './httpErrors';
import { requireInternalToken } from './internalToken';
import type { ServiceMetrics } from './metrics';

export interface ReadinessCheck {
  name: string;
  check(): Promise<boolean>;
}

/**
 * An express app with the three endpoints every service has:
 *   GET /healthz  200 while the process is alive and not shutting down
 *   GET /readyz   200 when every readiness check passes (Kafka first), else 503 with the failing ones
 *   GET /metrics  Prometheus text format
 * `routes` adds the service's own routes; errors from them are mapped by the shared errorHandler.
 * Before any of them, checkRouteMatch answers 405 for a known path with the wrong method and 400
 * for an undecodable path parameter.
 */
export function createServiceApp(opts: {
  metrics: ServiceMetrics;
  logger: Logger;
  readiness: ReadinessCheck[];
  isShuttingDown?: () => boolean;
  routes?: (app: Express) => void;
  /** When set, `routes` take only requests with `Authorization: Bearer <one of these>` (requireInternalToken). */
  internalTokens?: readonly string[];
}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      // The route's pattern, never the raw path: a request no route took (refused by auth or rate
      // limiting first, 404, 405) is labelled "unmatched", so random paths cannot grow /metrics.
      const pattern = req.route?.path as string | undefined;
      const route = pattern === undefined ? 'unmatched' : `${req.baseUrl}${pattern}`;
      opts.metrics.httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  });
  app.use(checkRouteMatch(app));
  app.get('/healthz', (_req, res) => {
    if (opts.isShuttingDown?.()) res.status(503).json({ status: 'shutting_down' });
    else res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const results = await Promise.all(opts.readiness.map(async (c) => ({ name: c.name, ok: await c.check().catch(() => false) })));
    const ok = results.every((r) => r.ok) && !opts.isShuttingDown?.();
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not_ready', checks: Object.fromEntries(results.map((r) => [r.name, r.ok ? 'ok' : 'failing'])) });
  });
  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', opts.metrics.registry.contentType);
    res.send(await opts.metrics.registry.metrics());
  });
  if (opts.internalTokens) app.use(requireInternalToken(opts.internalTokens));
  opts.routes?.(app);
  app.use(notFoundHandler);
  app.use(errorHandler(opts.logger));
  return app;
}

export function listen(app: Express, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('listening', () => resolve(server));
    server.once('error', reject);
    server.keepAliveTimeout = 65_000;
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

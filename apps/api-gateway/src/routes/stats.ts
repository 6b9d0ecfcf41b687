import type { Express } from 'express';
import type { AggregateView } from '@pipeline/aggregation';
import { HttpError } from '@pipeline/service-runtime';

/**
 * Live statistics from the aggregator's snapshots (shapes compatible with the old report):
 *   GET /pipeline/stats/{metric_name}[?group=g]   window stats, percentiles, rate; per group
 *   GET /pipeline/all-stats                       overall stats of every metric
 *   GET /pipeline/topk/{dimension}?k=10           most frequent items in the window, with counts and error bounds
 *   GET /pipeline/rates                           events/s per topic and per metric
 * Windows are evaluated at the time of the request.
 */
export function statsRoutes(app: Express, view: AggregateView): void {
  app.get('/pipeline/stats/:metric_name', (req, res) => {
    const name = req.params['metric_name']!;
    const group = req.query['group'];
    if (group !== undefined && (typeof group !== 'string' || group === '')) throw new HttpError(400, 'invalid_query', 'group must be a non-empty string');
    const agg = view.aggregate();
    const result = agg?.metricStats(name, Date.now(), group);
    if (!result) {
      if (group !== undefined && agg?.hasMetric(name)) throw new HttpError(404, 'unknown_group', `metric "${name}" has no group "${group}"`);
      throw new HttpError(404, 'unknown_metric', `no statistics for metric "${name}"`);
    }
    res.json(result);
  });
  app.get('/pipeline/all-stats', (_req, res) => {
    res.json(view.aggregate()?.allStats(Date.now()) ?? {});
  });
  app.get('/pipeline/topk/:dimension', (req, res) => {
    const raw = req.query['k'] ?? '10';
    const k = Number(raw);
    if (typeof raw !== 'string' || !Number.isInteger(k) || k < 1 || k > 1000) throw new HttpError(400, 'invalid_query', `k must be an integer from 1 to 1000, got ${JSON.stringify(raw)}`);
    const dimension = req.params['dimension']!;
    const result = view.aggregate()?.topK(dimension, k, Date.now());
    if (!result) {
      const known = view.aggregate()?.dimensions() ?? [];
      throw new HttpError(404, 'unknown_dimension', `no top-K data for dimension "${dimension}"${known.length ? ` (known: ${known.join(', ')})` : ''}`);
    }
    res.json(result);
  });
  app.get('/pipeline/rates', (_req, res) => {
    res.json(view.aggregate()?.rates(Date.now()) ?? { topics: {}, metrics: {}, window_seconds: null });
  });
}

const statsSchema = {
  type: 'object',
  properties: Object.fromEntries(
    ['count', 'sum', 'mean', 'min', 'max', 'variance', 'stddev', 'p50', 'p90', 'p95', 'p99', 'rate_per_sec'].map((k) => [k, { type: ['number', 'null'] }]),
  ),
};

export const statsOpenApi = {
  '/pipeline/stats/{metric_name}': {
    get: {
      summary: 'Window statistics of one metric (overall and per group)',
      parameters: [
        { name: 'metric_name', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'group', in: 'query', required: false, schema: { type: 'string' } },
      ],
      responses: {
        '200': {
          description: 'Stats over the window; percentiles within 1% relative error',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  metric_name: { type: 'string' },
                  stats: statsSchema,
                  groups: { type: 'object', additionalProperties: statsSchema },
                  window_seconds: { type: 'integer' },
                  total_events: { type: 'integer', description: 'Events of the metric since its state was created (ok + late + future)' },
                  late_events: { type: 'integer', description: 'Of those, events older than the window when they arrived (not in the stats)' },
                  future_events: { type: 'integer', description: 'Of those, events stamped more than AGG_MAX_FUTURE_SKEW_SECONDS ahead of the clock (not in the stats)' },
                  timestamp: { type: 'string', format: 'date-time' },
                },
              },
            },
          },
        },
        '404': { description: 'Unknown metric or group', content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponse' } } } },
      },
    },
  },
  '/pipeline/all-stats': { get: { summary: 'Overall stats of every metric', responses: { '200': { description: 'metric_name → stats', content: { 'application/json': { schema: { type: 'object', additionalProperties: statsSchema } } } } } } },
  '/pipeline/topk/{dimension}': {
    get: {
      summary: 'Top-K items of a dimension over the stats window (error_type, error_service, error_endpoint, action, metric_name, group_by, device_id, reality_change)',
      parameters: [
        { name: 'dimension', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'k', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 10 } },
      ],
      responses: {
        '200': { description: '{dimension, items, window_seconds}: the heaviest items over the stats window (window_seconds, widened to whole sub-windows of a tenth of it), with counts; the true count in the window is within [count - error, count]' },
        '404': { description: 'Unknown dimension' },
      },
    },
  },
  '/pipeline/rates': { get: { summary: 'Events per second per topic and per metric', responses: { '200': { description: 'Rates over the rate window' } } } },
};

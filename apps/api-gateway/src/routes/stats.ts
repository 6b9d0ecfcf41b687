import type { Express } from 'express';
import type { LiveStatsView } from '@pipeline/live-state';
import { HttpError } from '@pipeline/service-runtime';

/**
 * Live statistics from the aggregator's snapshots (shapes compatible with the old report):
 *   GET /pipeline/stats/{metric_name}[?group=g]   window stats, percentiles, rate; per group
 *   GET /pipeline/all-stats[?prefix=&limit=&cursor=]  overall stats of the metrics, in name order, a page at a time
 *   GET /pipeline/topk/{dimension}?k=10           most frequent items in the window, with counts and error bounds
 *   GET /pipeline/rates                           events/s per topic and per metric
 * Windows are evaluated at the time of the request.
 */
export function statsRoutes(app: Express, view: LiveStatsView): void {
  app.get('/pipeline/stats/:metric_name', (req, res) => {
    const name = req.params['metric_name']!;
    const group = req.query['group'];
    if (group !== undefined && (typeof group !== 'string' || group === '')) throw new HttpError(400, 'invalid_query', 'group must be a non-empty string');
    const result = view.metricStats(name, Date.now(), group);
    if (!result) {
      if (group !== undefined && view.hasMetric(name)) throw new HttpError(404, 'unknown_group', `metric "${name}" has no group "${group}"`);
      throw new HttpError(404, 'unknown_metric', `no statistics for metric "${name}"`);
    }
    res.json(result);
  });
  app.get('/pipeline/all-stats', (req, res) => {
    const prefix = optionalString(req.query['prefix'], 'prefix');
    const cursor = optionalString(req.query['cursor'], 'cursor');
    const rawLimit = req.query['limit'] ?? String(ALL_STATS_DEFAULT_LIMIT);
    const limit = Number(rawLimit);
    if (typeof rawLimit !== 'string' || !Number.isInteger(limit) || limit < 1 || limit > ALL_STATS_MAX_LIMIT) {
      throw new HttpError(400, 'invalid_query', `limit must be an integer from 1 to ${ALL_STATS_MAX_LIMIT}, got ${JSON.stringify(rawLimit)}`);
    }
    const page = view.allStats(Date.now(), { prefix, after: cursor, limit });
    if (page.next !== undefined) {
      // The cursor is the last name of this page; the next page starts after it (RFC 8288 Link, as GitHub's API pages).
      const params = new URLSearchParams({ ...(prefix !== undefined && { prefix }), limit: String(limit), cursor: page.next });
      res.setHeader('X-Next-Cursor', encodeURIComponent(page.next));
      res.setHeader('Link', `</pipeline/all-stats?${params.toString()}>; rel="next"`);
    }
    res.json(page.stats);
  });
  app.get('/pipeline/topk/:dimension', (req, res) => {
    const raw = req.query['k'] ?? '10';
    const k = Number(raw);
    if (typeof raw !== 'string' || !Number.isInteger(k) || k < 1 || k > 1000) throw new HttpError(400, 'invalid_query', `k must be an integer from 1 to 1000, got ${JSON.stringify(raw)}`);
    const dimension = req.params['dimension']!;
    const result = view.topK(dimension, k, Date.now());
    if (!result) {
      const known = view.dimensions();
      throw new HttpError(404, 'unknown_dimension', `no top-K data for dimension "${dimension}"${known.length ? ` (known: ${known.join(', ')})` : ''}`);
    }
    res.json(result);
  });
  app.get('/pipeline/rates', (_req, res) => {
    res.json(view.rates(Date.now()) ?? { topics: {}, metrics: {}, window_seconds: null });
  });
}

/** Metrics per all-stats page unless `limit` says otherwise, and the most it may say. */
const ALL_STATS_DEFAULT_LIMIT = 1000;
const ALL_STATS_MAX_LIMIT = 10_000;

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new HttpError(400, 'invalid_query', `${name} must be a string (given once), got ${JSON.stringify(value)}`);
  return value;
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
  '/pipeline/all-stats': {
    get: {
      summary: 'Overall stats of the metrics, in name order, a page at a time (filter by prefix, page with limit and cursor)',
      parameters: [
        { name: 'prefix', in: 'query', required: false, schema: { type: 'string' }, description: 'Only metrics whose name starts with this' },
        { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: ALL_STATS_MAX_LIMIT, default: ALL_STATS_DEFAULT_LIMIT }, description: 'Most metrics in the answer' },
        { name: 'cursor', in: 'query', required: false, schema: { type: 'string' }, description: 'Start after this metric name: the X-Next-Cursor of the previous page (URL-decoded), or follow its Link rel="next"' },
      ],
      responses: {
        '200': {
          description: 'metric_name → stats, at most `limit` metrics in name order. When more follow, the answer carries `X-Next-Cursor` (the last name, percent-encoded) and `Link: <...>; rel="next"`; without them this is the last page.',
          headers: {
            'X-Next-Cursor': { schema: { type: 'string' }, description: 'Percent-encoded last metric name of this page; pass it (decoded) as `cursor`' },
            Link: { schema: { type: 'string' }, description: 'RFC 8288 link to the next page (rel="next")' },
          },
          content: { 'application/json': { schema: { type: 'object', additionalProperties: statsSchema } } },
        },
        '400': { description: 'limit out of range, or a parameter given twice', content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponse' } } } },
      },
    },
  },
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

import type { Express } from 'express';
import type { LiveStatsView } from '@pipeline/live-state';
import { HttpError } from '@pipeline/service-runtime';
import {
  AllStatsPathSchema,
  AllStatsQuerySchema,
  AllStatsResponseSchema,
  MetricStatsPathSchema,
  MetricStatsQuerySchema,
  MetricStatsResponseSchema,
  RatesResponseSchema,
  TOPK_DEFAULT_K,
  TOPK_DIMENSIONS,
  ALL_STATS_DEFAULT_LIMIT,
  TopKPathSchema,
  TopKQuerySchema,
  TopKResponseSchema,
  openApiParameters,
  requestReader,
} from './statsSchemas';

// Path and query parameters are read with the schemas the OpenAPI document publishes (statsSchemas.ts).
const readMetricStats = requestReader(MetricStatsPathSchema, MetricStatsQuerySchema);
const readAllStats = requestReader(AllStatsPathSchema, AllStatsQuerySchema);
const readTopK = requestReader(TopKPathSchema, TopKQuerySchema);

/**
 * Live statistics from the aggregator's snapshots (shapes compatible with the old report):
 *   GET /pipeline/stats/{metric_name}[?group=g]   window stats, percentiles, rate; per group
 *   GET /pipeline/all-stats[?prefix=&limit=&cursor=]  overall stats of the metrics, in name order, a page at a time
 *   GET /pipeline/topk/{dimension}?k=10           most frequent items in the window, with counts and error bounds
 *   GET /pipeline/rates                           events/s per topic and per metric
 * Windows are evaluated at the time of the request. Every answer carries its reliability: `accuracy`
 * (the percentile error bound; for top-K the largest over-count) and `completeness` (window bounds,
 * watermark, snapshot age, partitions reported / total; for a metric its late and future events).
 */
export function statsRoutes(app: Express, view: LiveStatsView): void {
  app.get('/pipeline/stats/:metric_name', (req, res) => {
    const { metric_name: name, group } = readMetricStats(req);
    const result = view.metricStats(name, Date.now(), group);
    if (!result) {
      if (group !== undefined && view.hasMetric(name)) throw new HttpError(404, 'unknown_group', `metric "${name}" has no group "${group}"`);
      throw new HttpError(404, 'unknown_metric', `no statistics for metric "${name}"`);
    }
    res.json(result);
  });
  app.get('/pipeline/all-stats', (req, res) => {
    const { prefix, cursor, limit = ALL_STATS_DEFAULT_LIMIT } = readAllStats(req);
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
    const { dimension, k = TOPK_DEFAULT_K } = readTopK(req);
    const result = view.topK(dimension, k, Date.now());
    if (!result) {
      const known = view.dimensions();
      throw new HttpError(404, 'unknown_dimension', `no top-K data for dimension "${dimension}"${known.length ? ` (known: ${known.join(', ')})` : ''}`);
    }
    res.json(result);
  });
  app.get('/pipeline/rates', (_req, res) => {
    res.json(view.rates(Date.now()) ?? { topics: {}, metrics: {}, window_seconds: null, completeness: null });
  });
}

const json = (schema: object) => ({ 'application/json': { schema: JSON.parse(JSON.stringify(schema)) as object } });
const error = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponse' } } } });

/** OpenAPI operations of the stats routes: parameters and answers from the schemas in statsSchemas.ts. */
export const statsOpenApi = {
  '/pipeline/stats/{metric_name}': {
    get: {
      summary: 'Window statistics of one metric (overall and per group)',
      parameters: openApiParameters(MetricStatsPathSchema, MetricStatsQuerySchema),
      responses: {
        '200': { description: 'Stats over the window; percentiles within `accuracy.percentile_relative_error` (1 % by default); `completeness` says what the answer covers', content: json(MetricStatsResponseSchema) },
        '400': error('group empty or given twice, or metric_name not percent-encoded UTF-8'),
        '404': error('Unknown metric or group'),
      },
    },
  },
  '/pipeline/all-stats': {
    get: {
      summary: 'Overall stats of the metrics, in name order, a page at a time (filter by prefix, page with limit and cursor)',
      parameters: openApiParameters(AllStatsPathSchema, AllStatsQuerySchema),
      responses: {
        '200': {
          description: 'metric_name → stats, at most `limit` metrics in name order. When more follow, the answer carries `X-Next-Cursor` (the last name, percent-encoded) and `Link: <...>; rel="next"`; without them this is the last page.',
          headers: {
            'X-Next-Cursor': { schema: { type: 'string' }, description: 'Percent-encoded last metric name of this page; pass it (decoded) as `cursor`' },
            Link: { schema: { type: 'string' }, description: 'RFC 8288 link to the next page (rel="next")' },
          },
          content: json(AllStatsResponseSchema),
        },
        '400': error('limit not an integer from 1 to 10000, or a parameter given twice'),
      },
    },
  },
  '/pipeline/topk/{dimension}': {
    get: {
      summary: `Top-K items of a dimension over the stats window (${TOPK_DIMENSIONS.join(', ')})`,
      parameters: openApiParameters(TopKPathSchema, TopKQuerySchema),
      responses: {
        '200': {
          description: '{dimension, items, window_seconds, accuracy, completeness}: the heaviest items over the stats window (window_seconds, widened to whole sub-windows of a tenth of it), with counts; the true count in the window is within [count - error, count], and no count is over by more than accuracy.max_overcount',
          content: json(TopKResponseSchema),
        },
        '400': error('k not an integer from 1 to 1000, or given twice'),
        '404': error('Unknown dimension (or no data for it yet)'),
      },
    },
  },
  '/pipeline/rates': {
    get: { summary: 'Events per second per topic and per metric', responses: { '200': { description: 'Rates over the rate window', content: json(RatesResponseSchema) } } },
  },
};

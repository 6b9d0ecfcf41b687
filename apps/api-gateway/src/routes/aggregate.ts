import type { Express } from 'express';
import { AggregateRequestSchema, AggregateMetricSchema, ContractError, PRINCIPAL_HEADER, compileValidator, describeFirstError, normalizeEvent, type AggregateMetric } from '@pipeline/contracts';
import { toOutgoing, type EventBus } from '@pipeline/kafka';
import { SeriesRefusedError, type LiveStatsView } from '@pipeline/live-state';
import { HttpError } from '@pipeline/service-runtime';
import { ownerOf, seriesQuotaOf } from '../auth';

const checkMetric = compileValidator(AggregateMetricSchema);
const checkRequest = compileValidator(AggregateRequestSchema);

/**
 * POST /pipeline/aggregate: `{"metric_name","value","group_by"?,"timestamp"?}` or
 * `{"metrics":[...]}` → metric events on events.metrics, 202 once Kafka acknowledged them. A metric
 * stamped more than `maxFutureSkewMs` ahead of the gateway's clock fails the request with 400
 * (`metrics[3].timestamp must be at most 60 s ahead ...`), like any other invalid metric.
 *
 * A metric that would be a new series on an events.metrics partition already at the aggregator's
 * series cap (AGG_MAX_SERIES shared by the partitions) fails the request with 429 `series_limit`
 * naming it and the cap, instead of being published and silently refused by the aggregator; series
 * already live are always taken. Judged by `liveSeries` (the gateway's view of the state topic, see
 * `LiveStatsView.seriesRefusal`), which lags the aggregator by up to a snapshot round. A metric
 * that would be a new series past the API key's series quota (API_KEY_MAX_SERIES, or the key's
 * `:series=<n>`) fails it with 429 `series_quota` the same way. Either way nothing of a refused
 * request is published. Each metric event goes out with the key's principal in its
 * PRINCIPAL_HEADER, which the aggregator records as the creator of the series it creates.
 */
export function aggregateRoutes(app: Express, bus: EventBus, opts: { maxFutureSkewMs: number; liveSeries?: Pick<LiveStatsView, 'seriesRefusal'> }): void {
  app.post('/pipeline/aggregate', async (req, res) => {
    const body = req.body as unknown;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'invalid_request', 'body must be a JSON object: a metric or {"metrics":[...]}');
    let metrics: AggregateMetric[];
    if ('metrics' in body) {
      if (!checkRequest.Check(body)) {
        const list = (body as { metrics: unknown }).metrics;
        if (!Array.isArray(list)) throw new HttpError(400, 'invalid_request', `metrics must be an array, got ${typeof list}`);
        if (list.length === 0) throw new HttpError(400, 'empty_batch', 'metrics must contain at least one metric');
        const bad = list.findIndex((m) => !checkMetric.Check(m));
        const err = bad >= 0 ? describeFirstError(checkMetric, list[bad]) : describeFirstError(checkRequest, body);
        throw new HttpError(400, 'invalid_metric', bad >= 0 ? `metrics[${bad}].${err.message}` : err.message);
      }
      metrics = (body as { metrics: AggregateMetric[] }).metrics;
    } else {
      if (!checkMetric.Check(body)) throw new HttpError(400, 'invalid_metric', describeFirstError(checkMetric, body).message);
      metrics = [body as AggregateMetric];
    }
    const now = Date.now();
    const batch = 'metrics' in body;
    const events = metrics.map((m, i) => {
      const payload: Record<string, unknown> = { metric_name: m.metric_name, value: m.value };
      if (m.group_by !== undefined) payload['group_by'] = m.group_by;
      if (m.tags !== undefined) payload['tags'] = m.tags;
      const input: Record<string, unknown> = { topic: 'events.metrics', payload };
      if (m.timestamp !== undefined) input['timestamp'] = m.timestamp;
      try {
        return normalizeEvent(input, { nowMs: now, defaultSource: 'api-gateway', maxFutureSkewMs: opts.maxFutureSkewMs });
      } catch (e) {
        if (e instanceof ContractError) throw new HttpError(400, 'invalid_metric', batch ? `metrics[${i}].${e.message}` : e.message);
        throw e;
      }
    });
    const refusal = opts.liveSeries?.seriesRefusal(
      'events.metrics',
      metrics.map((m, i) => ({ ref: { metric: m.metric_name, group: m.group_by }, key: events[i]!.key })),
      seriesQuotaOf(res),
    );
    if (refusal) throw new SeriesRefusedError(refusal, batch ? `metrics[${refusal.index}]` : ''); // 429, see errorHandler
    const principal = ownerOf(res);
    const headers = principal === undefined ? undefined : { [PRINCIPAL_HEADER]: principal };
    await bus.publishBatch(events.map((e) => toOutgoing(e, { headers }))); // Kafka down: BusUnavailableError, answered 503 by errorHandler
    res.status(202).json({ status: 'accepted', accepted: events.length, ids: events.map((e) => e.id) });
  });
}

import type { Express } from 'express';
import { AggregateRequestSchema, AggregateMetricSchema, ContractError, compileValidator, describeFirstError, normalizeEvent, type AggregateMetric } from '@pipeline/contracts';
import { toOutgoing, type EventBus } from '@pipeline/kafka';
import { HttpError } from '@pipeline/service-runtime';

const checkMetric = compileValidator(AggregateMetricSchema);
const checkRequest = compileValidator(AggregateRequestSchema);

/**
 * POST /pipeline/aggregate: `{"metric_name","value","group_by"?,"timestamp"?}` or
 * `{"metrics":[...]}` → metric events on events.metrics, 202 once Kafka acknowledged them. A metric
 * stamped more than `maxFutureSkewMs` ahead of the gateway's clock fails the request with 400
 * (`metrics[3].timestamp must be at most 60 s ahead ...`), like any other invalid metric.
 */
export function aggregateRoutes(app: Express, bus: EventBus, opts: { maxFutureSkewMs: number }): void {
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
    await bus.publishBatch(events.map((e) => toOutgoing(e))); // Kafka down: BusUnavailableError, answered 503 by errorHandler
    res.status(202).json({ status: 'accepted', accepted: events.length, ids: events.map((e) => e.id) });
  });
}

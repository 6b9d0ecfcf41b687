// The Prometheus metrics the services expose (the contract the dashboards and rules are written
// against). Histograms are queried through their _bucket/_sum/_count series.
export type MetricType = 'counter' | 'gauge' | 'histogram';

export const PIPELINE_METRICS: Readonly<Record<string, MetricType>> = {
  pipeline_events_consumed_total: 'counter',
  pipeline_messages_published_total: 'counter',
  pipeline_publish_errors_total: 'counter',
  pipeline_deadletter_total: 'counter',
  pipeline_consumer_lag_messages: 'gauge',
  pipeline_handler_duration_seconds: 'histogram',
  pipeline_kafka_broker_up: 'gauge',
  pipeline_http_request_duration_seconds: 'histogram',
  pipeline_ingest_events_accepted_total: 'counter',
  pipeline_ingest_events_rejected_total: 'counter',
  pipeline_aggregator_active_series: 'gauge',
  pipeline_aggregator_window_expirations_total: 'counter',
  pipeline_aggregator_late_events_total: 'counter',
  pipeline_aggregator_future_events_total: 'counter',
  pipeline_aggregator_metric_events_in_window: 'gauge',
  pipeline_aggregator_refused_events_total: 'counter',
  pipeline_aggregator_events_processed_total: 'counter',
  pipeline_ml_training_duration_seconds: 'histogram',
  pipeline_ml_training_jobs_total: 'counter',
  pipeline_ml_prediction_duration_seconds: 'histogram',
  pipeline_ml_feature_rows_total: 'counter',
  pipeline_ml_model_r2: 'gauge',
  pipeline_ml_model_load_duration_seconds: 'histogram',
  pipeline_ml_model_loads_total: 'counter',
  pipeline_ml_models_rejected_total: 'counter',
  pipeline_ml_registry_versions_withdrawn_total: 'counter',
  pipeline_batch_job_duration_seconds: 'histogram',
  pipeline_batch_jobs_total: 'counter',
};

/** Prometheus' own synthetic series, allowed in addition to the pipeline's. */
const SYNTHETIC = new Set(['up']);
/** prom-client default Node metrics (collectDefaultMetrics). */
const DEFAULT_NODE = /^(process|nodejs)_[a-z0-9_]+$/;

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan']);

/**
 * Metric names referenced by a PromQL expression, in order of appearance, each with whether a
 * range selector `[...]` follows it. Strings, label matchers, grouping label lists and function
 * names are skipped. Example: `sum by (topic) (rate(x_total{a="b"}[5m]))` -> [{name: 'x_total', range: true}].
 */
export function promqlMetricRefs(expr: string): { name: string; range: boolean }[] {
  const text = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\{[^}]*\}/g, '');
  const refs: { name: string; range: boolean }[] = [];
  const ident = /[A-Za-z_:][A-Za-z0-9_:]*/g;
  for (let m = ident.exec(text); m; m = ident.exec(text)) {
    const before = text[m.index - 1];
    if (before !== undefined && /[0-9.$]/.test(before)) continue; // 5m, 1e3, $__rate_interval
    const after = text.slice(m.index + m[0].length);
    if (/^\s*\(/.test(after) || KEYWORDS.has(m[0].toLowerCase())) continue; // function or keyword
    refs.push({ name: m[0], range: /^\s*\[/.test(after) });
  }
  return refs;
}

/** Why `name` is not a metric the pipeline exposes, or null when it is. */
export function unknownMetricReason(name: string): string | null {
  if (SYNTHETIC.has(name) || DEFAULT_NODE.test(name)) return null;
  if (PIPELINE_METRICS[name] === 'histogram') return `${name} is a histogram: query ${name}_bucket, _sum or _count`;
  if (PIPELINE_METRICS[name]) return null;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  if (base !== name && PIPELINE_METRICS[base] === 'histogram') return null;
  return `${name} is not in the pipeline metric catalogue`;
}

/** Counters and histogram series only make sense through rate()/increase(): they must have a range. */
export function needsRange(name: string): boolean {
  if (PIPELINE_METRICS[name] === 'counter' || name === 'process_cpu_seconds_total') return true;
  return /_(bucket|sum|count)$/.test(name) && PIPELINE_METRICS[name.replace(/_(bucket|sum|count)$/, '')] === 'histogram';
}

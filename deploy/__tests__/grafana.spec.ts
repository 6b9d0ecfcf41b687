// deploy/grafana: provisioning points at the dashboard folder and the datasource uid the dashboard
// uses; every panel query is over catalogued metrics only. That each query parses as PromQL is
// checked by promtool in grafana.int.spec.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './support/tools';
import { readYamlDocuments } from './support/renderKustomization';
import { needsRange, promqlMetricRefs, unknownMetricReason } from './support/pipelineMetrics';
import { GRAFANA, dashboard, queries, queryPanels } from './support/grafanaDashboard';

describe('deploy/grafana', () => {
  it('provisions the Prometheus datasource with the uid every panel uses', () => {
    const ds = readYamlDocuments(join(GRAFANA, 'provisioning/datasources/prometheus.yml'))[0] as { datasources: { uid: string; type: string; url: string }[] };
    expect(ds.datasources).toEqual([expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090' })]);
    const uids = new Set(queryPanels.flatMap((p) => [p.datasource?.uid, ...(p.targets ?? []).map((t) => t.datasource?.uid)]));
    expect([...uids]).toEqual(['prometheus']);
  });

  it('provisions dashboards from the folder docker-compose mounts the dashboard JSON into', () => {
    const provider = readYamlDocuments(join(GRAFANA, 'provisioning/dashboards/pipeline.yml'))[0] as { providers: { type: string; options: { path: string } }[] };
    expect(provider.providers.map((p) => [p.type, p.options.path])).toEqual([['file', '/var/lib/grafana/dashboards']]);
    const compose = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
    expect(compose).toContain('./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro');
    expect(compose).toContain('./deploy/grafana/provisioning:/etc/grafana/provisioning:ro');
  });

  it('gives every panel a unique id, a description, at least one query and a place that overlaps no other panel', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(queryPanels.filter((p) => !p.description || !p.targets?.length).map((p) => p.title)).toEqual([]);
    const overlaps: string[] = [];
    dashboard.panels.forEach((a, i) =>
      dashboard.panels.slice(i + 1).forEach((b) => {
        const g = a.gridPos, h = b.gridPos;
        if (g.x < h.x + h.w && h.x < g.x + g.w && g.y < h.y + h.h && h.y < g.y + g.h) overlaps.push(`${a.title} / ${b.title}`);
      }),
    );
    expect(overlaps).toEqual([]);
    expect(queryPanels.filter((p) => p.gridPos.x + p.gridPos.w > 24).map((p) => p.title)).toEqual([]);
  });

  it('queries only catalogued pipeline metrics (or default process_/nodejs_ ones and up), counters through a range', () => {
    const problems: string[] = [];
    for (const q of queries) {
      const refs = promqlMetricRefs(q.expr);
      if (!refs.length) problems.push(`${q.panel} ${q.refId}: no metric found in ${q.expr}`);
      for (const ref of refs) {
        const reason = unknownMetricReason(ref.name);
        if (reason) problems.push(`${q.panel} ${q.refId}: ${reason}`);
        if (needsRange(ref.name) && !ref.range) problems.push(`${q.panel} ${q.refId}: ${ref.name} is used without rate()/increase()`);
      }
      for (const m of q.expr.matchAll(/histogram_quantile\(\s*[0-9.]+\s*,\s*sum by \(([^)]*)\)/g)) {
        if (!m[1]!.split(',').map((s) => s.trim()).includes('le')) problems.push(`${q.panel} ${q.refId}: histogram_quantile must keep le`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('covers every metric group the monitoring report asks for', () => {
    const used = new Set(queries.flatMap((q) => promqlMetricRefs(q.expr).map((r) => r.name.replace(/_(bucket|sum|count)$/, ''))));
    for (const name of [
      'pipeline_events_consumed_total',
      'pipeline_ingest_events_accepted_total',
      'pipeline_ingest_events_rejected_total',
      'pipeline_publish_errors_total',
      'pipeline_consumer_lag_messages',
      'pipeline_aggregator_active_series',
      'process_resident_memory_bytes',
      'pipeline_aggregator_late_events_total',
      'pipeline_aggregator_window_expirations_total',
      'pipeline_ml_training_duration_seconds',
      'pipeline_ml_prediction_duration_seconds',
      'pipeline_ml_feature_rows_total',
      'pipeline_ml_model_r2',
      'pipeline_batch_job_duration_seconds',
      'pipeline_batch_jobs_total',
      'pipeline_kafka_broker_up',
    ]) {
      expect({ name, used: used.has(name) }).toEqual({ name, used: true });
    }
  });

  it('describes every panel in docs/deploy.md with the same text as the panel description', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs/deploy.md'), 'utf8');
    expect(queryPanels.filter((p) => !doc.includes(`- **${p.title}** — ${p.description}`)).map((p) => p.title)).toEqual([]);
  });
});

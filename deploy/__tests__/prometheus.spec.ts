// deploy/prometheus: the scrape config and every rule are written against the metric catalogue
// (support/pipelineMetrics.ts). promtool's own checks of these files run in prometheus.int.spec.ts.
import { join } from 'node:path';
import { readYamlDocuments } from './support/renderKustomization';
import { needsRange, promqlMetricRefs, unknownMetricReason } from './support/pipelineMetrics';
import { PROM_DIR, TEST_FILES, rules } from './support/prometheusRules';

const SERVICES = { 'api-gateway': 8080, ingest: 8081, aggregator: 8082, 'ml-trainer': 8083, 'ml-predictor': 8084, 'batch-processor': 8085 };
const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));

describe('deploy/prometheus', () => {
  it('scrapes all six services by their compose DNS name and HTTP port, labelled with service', () => {
    const config = readYamlDocuments(join(PROM_DIR, 'prometheus.yml'))[0] as {
      scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[]; labels: { service: string } }[] }[];
    };
    const job = config.scrape_configs.find((j) => j.job_name === 'pipeline');
    const targets = Object.fromEntries(job!.static_configs.map((s) => [s.labels.service, s.targets]));
    expect(targets).toEqual(Object.fromEntries(Object.entries(SERVICES).map(([s, port]) => [s, [`${s}:${port}`]])));
    expect(job!.metrics_path).toBe('/metrics');
  });

  it('drops exported_service, the copy of service that every series would carry (the services label their own series service="…")', () => {
    const config = readYamlDocuments(join(PROM_DIR, 'prometheus.yml'))[0] as { scrape_configs: { job_name: string; honor_labels?: boolean; metric_relabel_configs?: object[] }[] };
    const job = config.scrape_configs.find((j) => j.job_name === 'pipeline')!;
    expect({ honor_labels: job.honor_labels, metric_relabel_configs: job.metric_relabel_configs }).toEqual({
      honor_labels: undefined,
      metric_relabel_configs: [{ action: 'labeldrop', regex: 'exported_service' }],
    });
  });

  it('writes every rule against catalogued metrics or other recording rules, counters through a range', () => {
    const problems: string[] = [];
    for (const rule of rules) {
      for (const ref of promqlMetricRefs(rule.expr)) {
        const reason = recorded.has(ref.name) ? null : unknownMetricReason(ref.name);
        if (reason) problems.push(`${rule.record ?? rule.alert}: ${reason}`);
        if (needsRange(ref.name) && !ref.range) problems.push(`${rule.record ?? rule.alert}: ${ref.name} is used without rate()/increase()`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('has the alerts the runbook names, each with a severity and a summary', () => {
    const alerts = rules.filter((r) => r.alert);
    expect(alerts.map((a) => a.alert).sort()).toEqual([
      'PipelineConsumerLagGrowing',
      'PipelineDeadLetterRate',
      'PipelineKafkaBrokerUnavailable',
      'PipelineModelRejected',
      'PipelinePredictionLatencyHigh',
      'PipelinePublishErrors',
      'PipelineServiceDown',
    ]);
    for (const a of alerts) {
      expect({ alert: a.alert, severity: ['page', 'warning'].includes(a.labels?.severity ?? '') }).toEqual({ alert: a.alert, severity: true });
      expect({ alert: a.alert, hasSummary: Boolean(a.annotations?.summary) }).toEqual({ alert: a.alert, hasSummary: true });
    }
    expect(rules.find((r) => r.alert === 'PipelinePredictionLatencyHigh')!.expr).toContain('> 0.05');
  });

  it('tests every alert in a promtool unit test', () => {
    const tested = new Set(
      TEST_FILES.flatMap((f) => (readYamlDocuments(f)[0] as { tests: { alert_rule_test?: { alertname: string }[] }[] }).tests)
        .flatMap((t) => t.alert_rule_test ?? [])
        .map((t) => t.alertname),
    );
    expect(rules.filter((r) => r.alert && !tested.has(r.alert)).map((r) => r.alert)).toEqual([]);
  });
});

// End to end: the six services as separate processes on the test broker (the `npm run stack`
// wiring), scraped by a real Prometheus server (Debian `prometheus`) using our own
// deploy/prometheus/prometheus.yml (targets rewritten to the local ports) and rule files.
// Asserts through Prometheus's HTTP API that every target is up and the key series have sensible values.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { freePort, httpRequest, spawnApp, waitFor, type AppProcess } from '@pipeline/testing';

jest.setTimeout(240_000);
const root = join(__dirname, '../..');

describe('Prometheus scraping the running stack', () => {
  const apps: Record<string, AppProcess> = {};
  let prometheus: ChildProcess | undefined;
  let promUrl = '';

  const query = async (q: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> => {
    const r = await httpRequest(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    if (r.json?.status !== 'success') throw new Error(`query ${q} failed: ${r.text}`);
    return r.json.data.result;
  };

  beforeAll(async () => {
    const grpcPort = await freePort();
    const group = `prom-${process.pid}`;
    for (const app of ['ingest', 'aggregator', 'ml-trainer', 'batch-processor']) {
      apps[app] = await spawnApp(app, { AGG_GROUP_ID: group, AGG_SNAPSHOT_INTERVAL_MS: '200', VALIDATOR_GROUP_ID: `${group}-validator` });
    }
    apps['ml-predictor'] = await spawnApp('ml-predictor', { GRPC_PORT: String(grpcPort), GRPC_HOST: '127.0.0.1' });
    apps['api-gateway'] = await spawnApp('api-gateway', { INGEST_URL: apps['ingest']!.url, PREDICTOR_GRPC_ADDR: `127.0.0.1:${grpcPort}`, AGG_GROUP_ID: group });
    await Promise.all(Object.values(apps).map((a) => a.ready()));

    // Our scrape config, with the compose DNS names replaced by this stack's loopback ports.
    const config = parse(readFileSync(join(root, 'deploy/prometheus/prometheus.yml'), 'utf8'));
    config.global.scrape_interval = '1s';
    config.global.evaluation_interval = '1s';
    config.rule_files = [join(root, 'deploy/prometheus/rules/*.yml')];
    config.scrape_configs = config.scrape_configs.filter((job: { job_name: string }) => job.job_name === 'pipeline'); // not Prometheus itself
    for (const job of config.scrape_configs) {
      for (const sc of job.static_configs) sc.targets = sc.targets.map((t: string) => `127.0.0.1:${apps[t.split(':')[0]!]!.port}`);
    }
    const dir = mkdtempSync(join(tmpdir(), 'prom-e2e-'));
    writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    await waitFor(async () => (await httpRequest(`${promUrl}/-/ready`).catch(() => ({ status: 0 }))).status === 200, { timeoutMs: 60_000, what: 'prometheus ready' });
  });

  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    await Promise.all(Object.values(apps).map((a) => a.kill('SIGTERM')));
  });

  it('scrapes every service (up == 1) and sees the key series with sensible values after traffic', async () => {
    const gw = apps['api-gateway']!.url;
    const post = (path: string, body: unknown, type = 'application/json') =>
      httpRequest(`${gw}${path}`, { method: 'POST', headers: { 'content-type': type }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    expect((await post('/pipeline/aggregate', { metrics: Array.from({ length: 50 }, (_, i) => ({ metric_name: 'prom_e2e_latency', value: i, group_by: 'api' })) })).status).toBe(202);
    const ndjson = Array.from({ length: 20 }, (_, i) => JSON.stringify({ topic: 'events.errors', payload: { service: 'api', error_type: `E${i % 3}`, message: 'm', severity: 'error' } })).join('\n');
    expect((await post('/pipeline/events', ndjson, 'application/x-ndjson')).status).toBe(202);
    expect((await post('/pipeline/events', { topic: 'events.metrics', payload: { metric_name: 'x', value: 'bad' } })).status).toBe(400);
    await waitFor(async () => (await httpRequest(`${gw}/pipeline/stats/prom_e2e_latency`)).json?.stats?.count === 50, { what: 'stats visible' });
    await httpRequest(`${gw}/pipeline/stats/prom_e2e_latency`);

    const services = ['api-gateway', 'ingest', 'aggregator', 'ml-trainer', 'ml-predictor', 'batch-processor'];
    await waitFor(async () => (await query('up{job="pipeline"} == 1')).length === services.length, { timeoutMs: 60_000, what: 'all six targets up' });
    expect((await query('up{job="pipeline"}')).map((r) => [r.metric['service'], r.value[1]]).sort()).toEqual([...services].sort().map((s) => [s, '1']));

    const value = async (q: string) => {
      const r = await query(q);
      return r.length ? Number(r[0]!.value[1]) : undefined;
    };
    await waitFor(async () => ((await value('sum(pipeline_ingest_events_accepted_total{topic="events.errors"})')) ?? 0) >= 20, { timeoutMs: 30_000, what: 'ingest counter scraped' });
    expect(await value('sum(pipeline_ingest_events_rejected_total{reason="schema"})')).toBeGreaterThanOrEqual(1);
    expect(await value('sum(pipeline_messages_published_total{service="api-gateway",topic="events.metrics"})')).toBeGreaterThanOrEqual(50);
    await waitFor(async () => ((await value('sum(pipeline_aggregator_events_processed_total{topic="events.metrics"})')) ?? 0) >= 50, { timeoutMs: 30_000, what: 'aggregator counter scraped' });
    expect(await value('min(pipeline_kafka_broker_up)')).toBe(1);
    // One service label per series: the services' own service="…" is not kept as exported_service
    expect(await query('count by (__name__) ({job="pipeline", exported_service!=""})')).toEqual([]);
    expect((await query('pipeline_kafka_broker_up')).map((r) => r.metric['service']).sort()).toEqual([...services].sort());
    expect(await value('pipeline_aggregator_active_series')).toBeGreaterThanOrEqual(2); // overall + group "api"
    const rss = await value('process_resident_memory_bytes{service="aggregator"}');
    expect(rss).toBeGreaterThan(10e6);
    expect(rss).toBeLessThan(2e9);
    expect(await value('sum(pipeline_http_request_duration_seconds_count{service="api-gateway",route="/pipeline/aggregate",status="202"})')).toBeGreaterThanOrEqual(1);
    expect((await query('pipeline_consumer_lag_messages{service="aggregator"}')).length).toBeGreaterThan(0);
    // The recording rules evaluate over these series.
    await waitFor(async () => (await query('topic:pipeline_messages_published:rate1m')).length > 0, { timeoutMs: 30_000, what: 'recording rule evaluated' });
    // No alert fires on a healthy stack.
    const alerts = (await httpRequest(`${promUrl}/api/v1/alerts`)).json.data.alerts as Array<{ labels: { alertname: string }; state: string }>;
    expect(alerts.filter((a) => a.state === 'firing').map((a) => a.labels.alertname)).toEqual([]);
  });
});

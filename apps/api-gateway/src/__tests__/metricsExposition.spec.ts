import { httpRequest } from '@pipeline/testing';
import { startAllServices } from './allServices';

/** `{name: type}` from the `# TYPE` lines of a Prometheus text exposition. */
const typesOf = (text: string) => Object.fromEntries([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
const sample = (text: string, series: string) => text.split('\n').find((l) => l.startsWith(`${series} `))?.slice(series.length + 1);

describe('/metrics of every service', () => {
  let env: Awaited<ReturnType<typeof startAllServices>>;
  const expositions = new Map<string, string>();

  beforeAll(async () => {
    env = await startAllServices();
    for (const s of env.services) expositions.set(s.name, (await httpRequest(`${s.url}/metrics`)).text);
  });
  afterAll(() => env.stop());

  it('names only counters with _total (what promtool check metrics refuses: nodejs_active_handles_total is a gauge)', () => {
    expect([...expositions.keys()].sort()).toEqual(['aggregator', 'api-gateway', 'batch-processor', 'ingest', 'ml-predictor', 'ml-trainer']);
    for (const [service, text] of expositions) {
      const misnamed = Object.entries(typesOf(text)).filter(([name, type]) => name.endsWith('_total') !== (type === 'counter'));
      expect([service, misnamed]).toEqual([service, []]);
    }
  });

  it('starts the known series of labelled counters at 0, so increase() sees their first event', () => {
    const ingest = expositions.get('ingest')!;
    expect(sample(ingest, 'pipeline_deadletter_total{topic="events.metrics",reason="schema",service="ingest"}')).toBe('0');
    expect(sample(ingest, 'pipeline_deadletter_total{topic="events.user",reason="invalid_json",service="ingest"}')).toBe('0');
    expect(sample(ingest, 'pipeline_ingest_events_rejected_total{reason="schema",service="ingest"}')).toBe('0');
    expect(sample(ingest, 'pipeline_ingest_events_accepted_total{topic="events.devices",service="ingest"}')).toBe('0');
    expect(sample(ingest, 'pipeline_publish_errors_total{topic="pipeline.deadletter",service="ingest"}')).toBe('0');
    expect(sample(ingest, 'pipeline_messages_published_total{topic="events.errors",service="ingest"}')).toBe('0');
    expect(sample(expositions.get('api-gateway')!, 'pipeline_publish_errors_total{topic="pipeline.ml.commands",service="api-gateway"}')).toBe('0');
    expect(sample(expositions.get('batch-processor')!, 'pipeline_batch_jobs_total{operation="join",status="failed",service="batch-processor"}')).toBe('0');
    expect(sample(expositions.get('ml-trainer')!, 'pipeline_ml_training_jobs_total{model_type="kmeans",status="succeeded",service="ml-trainer"}')).toBe('0');
    expect(sample(expositions.get('ml-predictor')!, 'pipeline_ml_model_loads_total{result="error",service="ml-predictor"}')).toBe('0');
    const aggregator = expositions.get('aggregator')!;
    for (const topic of ['events.analytics', 'events.devices', 'events.reality', 'events.errors', 'events.metrics', 'events.user']) {
      for (const counter of ['pipeline_aggregator_future_events_total', 'pipeline_aggregator_events_processed_total', 'pipeline_aggregator_invalid_events_total']) {
        expect([counter, topic, sample(aggregator, `${counter}{topic="${topic}",service="aggregator"}`)]).toEqual([counter, topic, '0']);
      }
    }
  });
});

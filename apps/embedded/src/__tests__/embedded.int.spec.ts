// `npm start`: the whole pipeline in one process on the in-memory bus (no Kafka). This spawns the
// built embedded app and drives the REST surface end to end: events, aggregate → stats, top-K,
// ML train → predict, and an inline batch job.
import { httpRequest, spawnApp, waitFor, type AppProcess } from '@pipeline/testing';

jest.setTimeout(120_000);

describe('embedded mode (npm start)', () => {
  let app: AppProcess;
  const post = (path: string, body: unknown) => httpRequest(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    app = await spawnApp('embedded', { KAFKA_BROKERS: '' });
    await app.ready();
  });
  afterAll(async () => {
    expect(await app.kill('SIGTERM')).toBe(0); // graceful shutdown exits 0
  });

  it('serves the stats surface from posted metrics', async () => {
    expect((await post('/pipeline/aggregate', { metrics: [10, 20, 30, 40].map((value) => ({ metric_name: 'emb_latency', value, group_by: 'api' })) })).status).toBe(202);
    const s = await waitFor(async () => {
      const r = await httpRequest(`${app.url}/pipeline/stats/emb_latency`);
      return r.json?.stats?.count === 4 ? r.json : undefined;
    }, { what: 'stats' });
    expect([s.stats.count, s.stats.sum, s.stats.min, s.stats.max, s.stats.mean, Object.keys(s.groups)]).toEqual([4, 100, 10, 40, 25, ['api']]);
    expect((await httpRequest(`${app.url}/pipeline/all-stats`)).json.emb_latency.count).toBe(4);
  });

  it('ingests events and counts top-K error types', async () => {
    const events = ['Timeout', 'Timeout', 'Refused'].map((error_type) => ({ topic: 'events.errors', payload: { service: 'api', error_type, message: 'm', severity: 'error' } }));
    const res = await post('/pipeline/events', events);
    expect([res.status, res.json.accepted, res.json.rejected]).toEqual([202, 3, []]);
    const top = await waitFor(async () => {
      const r = await httpRequest(`${app.url}/pipeline/topk/error_type?k=2`);
      return r.json?.items?.[0]?.count === 2 ? r.json : undefined;
    }, { what: 'top-K' });
    expect(top.items).toEqual([{ item: 'Timeout', count: 2, error: 0 }, { item: 'Refused', count: 1, error: 0 }]);
  });

  it('trains a model from inline rows and predicts with it', async () => {
    const data = Array.from({ length: 60 }, (_, i) => ({ x: i, y: 3 * i + 1 }));
    const train = await post('/pipeline/ml/train', { model_name: 'emb_linear', model_type: 'linear_regression', feature_keys: ['x'], target_key: 'y', data });
    expect(train.status).toBe(202);
    const job = await waitFor(async () => {
      const r = await httpRequest(`${app.url}/pipeline/ml/jobs/${train.json.job_id}`);
      return r.json?.status === 'succeeded' || r.json?.status === 'failed' ? r.json : undefined;
    }, { timeoutMs: 60_000, what: 'training job' });
    expect(job.status).toBe('succeeded');
    const predict = await waitFor(async () => {
      const r = await post('/pipeline/ml/predict', { model_name: 'emb_linear', features: [[10], [100]] });
      return r.status === 200 ? r.json : undefined;
    }, { what: 'model loaded by the predictor' });
    expect(predict.model_name).toBe('emb_linear');
    expect(predict.predictions.map((p: number) => Math.round(p * 1e6) / 1e6)).toEqual([31, 301]);
  });

  it('runs an inline batch job synchronously', async () => {
    const events = [1, 1, 1, 1, 50].map((value, i) => ({ timestamp: 1_700_000_000_000 + i * 1000, value }));
    const res = await post('/pipeline/spark/process', { operation: 'detect_anomalies', threshold_std: 1.5, events });
    expect([res.status, res.json.status]).toEqual([200, 'succeeded']);
    expect(res.json.result.anomalies.map((a: { index: number }) => a.index)).toEqual([4]);
    const status = (await httpRequest(`${app.url}/pipeline/spark/status`)).json;
    expect(status.mode).toBe('embedded');
  });
});

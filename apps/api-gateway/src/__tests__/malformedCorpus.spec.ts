import { httpRequest, waitFor } from '@pipeline/testing';
import { startAllServices } from './allServices';

jest.setTimeout(120_000);

/** One malformed request: route, raw body, Content-Type, and the field its error message must name. */
interface Case {
  route: string;
  body: string;
  field: string;
  type?: string;
}

const T = '2026-12-01T00:00:00Z';
const json = (v: unknown) => JSON.stringify(v);
/** `base` with `patch` applied (a key set to undefined is removed). */
const mutate = (base: Record<string, unknown>, patch: Record<string, unknown>) => {
  const out: Record<string, unknown> = { ...base, ...patch };
  for (const [k, v] of Object.entries(patch)) if (v === undefined) delete out[k];
  return out;
};

const ROUTES = ['/pipeline/events', '/pipeline/aggregate', '/pipeline/ml/train', '/pipeline/ml/predict', '/pipeline/ml/cluster', '/pipeline/ml/anomalies', '/pipeline/spark/process'];

function corpus(): Case[] {
  const cases: Case[] = [];
  const add = (route: string, base: Record<string, unknown>, patches: Array<[Record<string, unknown>, string]>) => {
    for (const [patch, field] of patches) cases.push({ route, body: json(mutate(base, patch)), field });
  };

  // Every POST route: bodies that are not a JSON object, a Content-Type that is not JSON, too deep.
  // An empty body reads as {}: the answer names the first required field.
  const firstRequired: Record<string, string> = {
    '/pipeline/events': 'topic',
    '/pipeline/aggregate': 'metric_name',
    '/pipeline/ml/train': 'model_type',
    '/pipeline/ml/predict': 'model_name',
    '/pipeline/ml/cluster': 'features',
    '/pipeline/ml/anomalies': 'features',
    '/pipeline/spark/process': 'operation',
  };
  for (const route of ROUTES) {
    cases.push({ route, body: '{"a":', field: 'JSON' });
    cases.push({ route, body: '', field: firstRequired[route]! });
    cases.push({ route, body: 'a=1', field: 'Content-Type', type: 'application/x-www-form-urlencoded' });
    cases.push({ route, body: '{"a":'.repeat(100) + '1' + '}'.repeat(100), field: 'nest' });
    if (route !== '/pipeline/events') cases.push({ route, body: '[1,2]', field: 'body' });
  }

  const event = { topic: 'events.metrics', payload: { metric_name: 'corpus_e', value: 1 } };
  add('/pipeline/events', event, [
    [{ topic: 'events.nope' }, 'topic'],
    [{ topic: 5 }, 'topic'],
    [{ topic: undefined }, 'topic'],
    [{ payload: undefined }, 'payload'],
    [{ payload: 'x' }, 'payload'],
    [{ payload: { metric_name: 'corpus_e', value: 'abc' } }, 'value'],
    [{ payload: { metric_name: 'corpus_e' } }, 'value'],
    [{ payload: { metric_name: 5, value: 1 } }, 'metric_name'],
    [{ payload: { metric_name: 'a\u0001b', value: 1 } }, 'metric_name'],
    [{ timestamp: 'yesterday' }, 'timestamp'],
    [{ timestamp: '2024-02-30T00:00:00Z' }, 'timestamp'],
    [{ timestamp: true }, 'timestamp'],
  ]);

  const metric = { metric_name: 'corpus_m', value: 1, group_by: 'g' };
  add('/pipeline/aggregate', metric, [
    [{ value: 'abc' }, 'value'],
    [{ value: null }, 'value'],
    [{ value: true }, 'value'],
    [{ value: [] }, 'value'],
    [{ value: undefined }, 'value'],
    [{ metric_name: 5 }, 'metric_name'],
    [{ metric_name: '' }, 'metric_name'],
    [{ metric_name: undefined }, 'metric_name'],
    [{ metric_name: 'bad\u0000name' }, 'metric_name'],
    [{ group_by: 5 }, 'group_by'],
    [{ group_by: {} }, 'group_by'],
    [{ timestamp: 'yesterday' }, 'timestamp'],
    [{ timestamp: '2024-02-30T00:00:00Z' }, 'timestamp'],
    [{ tags: 'x' }, 'tags'],
    [{ tags: 5 }, 'tags'],
    [{ valu: 2 }, 'valu'],
  ]);
  cases.push({ route: '/pipeline/aggregate', body: json({ metrics: 'x' }), field: 'metrics' });
  cases.push({ route: '/pipeline/aggregate', body: json({ metrics: [metric, { metric_name: 'corpus_m' }] }), field: 'metrics[1]' });
  cases.push({ route: '/pipeline/aggregate', body: json({ metrics: [{ ...metric, value: 'abc' }] }), field: 'metrics[0].value' });
  cases.push({ route: '/pipeline/aggregate', body: '1e309'.replace(/.*/, '{"metric_name":"corpus_m","value":1e309}'), field: 'value' });

  const train = { model_name: 'corpus', model_type: 'kmeans', feature_keys: ['a'], data: [{ a: 1 }, { a: 2 }, { a: 3 }], params: { nClusters: 2 } };
  add('/pipeline/ml/train', train, [
    [{ model_name: 5 }, 'model_name'],
    [{ model_name: '' }, 'model_name'],
    [{ model_name: undefined }, 'model_name'],
    [{ model_type: 'svm' }, 'model_type'],
    [{ model_type: 5 }, 'model_type'],
    [{ feature_keys: [] }, 'feature_keys'],
    [{ feature_keys: ['a', 'a'] }, 'feature_keys'],
    [{ feature_keys: 'a' }, 'feature_keys'],
    [{ feature_keys: [5] }, 'feature_keys'],
    [{ data: 'x' }, 'data'],
    [{ data: [5] }, 'data'],
    [{ params: { nClusters: -1 } }, 'nClusters'],
    [{ params: { nClusters: '2' } }, 'nClusters'],
    [{ params: { nClusters: 2, bogus: 1 } }, 'bogus'],
    [{ params: 'x' }, 'params'],
    [{ data: undefined, source: { topic: 'events.metrics', from: '2025-01-02T00:00:00Z', to: '2025-01-01T00:00:00Z' } }, 'source'],
    [{ data: undefined, source: { topic: 5 } }, 'source.topic'],
    [{ model_type: 'random_forest', params: undefined }, 'target_key'],
    [{ model_type: 'random_forest', params: undefined, target_key: 'a' }, 'target_key'],
    [{ model_type: 'isolation_forest', params: { contamination: 0.9 } }, 'contamination'],
    [{ model_type: 'random_forest', target_key: 'b', params: { nEstimators: 1e9 } }, 'nEstimators'],
    [{ extra: true }, 'extra'],
  ]);
  cases.push({ route: '/pipeline/ml/train', body: json(train).replace('"params":{', '"params":{"__proto__":{"x":1},'), field: '__proto__' });

  const predict = { model_name: 'corpus', features: [[1, 2]] };
  add('/pipeline/ml/predict', predict, [
    [{ model_name: 5 }, 'model_name'],
    [{ model_name: undefined }, 'model_name'],
    [{ features: 'x' }, 'features'],
    [{ features: [[1, 'a']] }, 'features[0][1]'],
    [{ features: [[1, 2], [1]] }, 'features[1]'],
    [{ rows: [{ a: 1 }] }, 'features'],
    [{ features: undefined }, 'features'],
    [{ version: -1 }, 'version'],
    [{ version: 'x' }, 'version'],
    [{ extra: 1 }, 'extra'],
  ]);

  const cluster = { features: [[1], [2], [3]], n_clusters: 2 };
  add('/pipeline/ml/cluster', cluster, [
    [{ n_clusters: 0 }, 'n_clusters'],
    [{ n_clusters: 'x' }, 'n_clusters'],
    [{ n_clusters: undefined }, 'n_clusters'],
    [{ features: 'x' }, 'features'],
    [{ features: [['a']] }, 'features[0][0]'],
    [{ seed: 'x' }, 'seed'],
    [{ extra: 1 }, 'extra'],
  ]);

  const anomalies = { features: [[1], [2], [3]], contamination: 0.1 };
  add('/pipeline/ml/anomalies', anomalies, [
    [{ contamination: 0 }, 'contamination'],
    [{ contamination: 0.9 }, 'contamination'],
    [{ contamination: 'x' }, 'contamination'],
    [{ features: undefined }, 'features'],
    [{ features: [[null]] }, 'features[0][0]'],
    [{ extra: 1 }, 'extra'],
  ]);

  const batch = { operation: 'process_batch', events: [{ timestamp: T, value: 1 }] };
  add('/pipeline/spark/process', batch, [
    [{ operation: 'nope' }, 'operation'],
    [{ operation: undefined }, 'operation'],
    [{ operation: 5 }, 'operation'],
    [{ events: 'x' }, 'events'],
    [{ events: [{ timestamp: T, value: 'abc' }] }, 'events[0].value'],
    [{ events: undefined }, 'events'],
    [{ value_key: 5 }, 'value_key'],
    [{ operation: 'time_window_metrics', slide_minute: 5 }, 'slide_minute'],
    [{ operation: 'time_window_metrics', window_minutes: 0 }, 'window_minutes'],
    [{ operation: 'time_window_metrics', events: [{ value: 1 }] }, 'events[0].timestamp'],
    [{ operation: 'detect_anomalies' }, 'threshold_std'],
    [{ operation: 'detect_anomalies', threshold_std: -1 }, 'threshold_std'],
    [{ operation: 'join', events: undefined, left: [], right: [] }, 'join_key'],
    [{ operation: 'join', events: undefined, join_key: 'k', left: 'x', right: [] }, 'left'],
    [{ operation: 'join', events: undefined, join_key: 'k', join_type: 'sideways', left: [], right: [] }, 'join_type'],
    [{ events: undefined, source: { topic: 'events.nope', from: T, to: '2026-12-02T00:00:00Z' } }, 'topic'],
    [{ events: undefined, source: { topic: 'events.metrics', from: '2026-12-02T00:00:00Z', to: T } }, 'source'],
    [{ events: undefined, source: { topic: 'events.metrics', from: 'yesterday', to: T } }, 'source.from'],
    [{ extra: 1 }, 'extra'],
  ]);
  cases.push({ route: '/pipeline/spark/process', body: '{"operation":"process_batch","events":[{"timestamp":0,"value":1e309}]}', field: 'events[0].value' });
  return cases;
}

/** The parts of all-stats that a published event would change: which metrics exist, their counts and sums. */
const totals = (all: Record<string, { stats: { count: number; sum: number } } | { count: number; sum: number }>) =>
  Object.fromEntries(
    Object.entries(all).map(([name, v]) => {
      const s = 'stats' in v ? v.stats : v;
      return [name, [s.count, s.sum]];
    }),
  );

describe('a corpus of malformed requests across every POST route (all six services, in-memory bus)', () => {
  let env: Awaited<ReturnType<typeof startAllServices>>;
  let gw: string;

  beforeAll(async () => {
    env = await startAllServices();
    gw = env.services.find((s) => s.name === 'api-gateway')!.url;
  });
  afterAll(() => env.stop());

  const allStats = async () => (await httpRequest(`${gw}/pipeline/all-stats`)).json;
  const seen = async (metric: string, count: number) =>
    waitFor(async () => ((await httpRequest(`${gw}/pipeline/stats/${metric}`)).json?.stats?.count === count ? true : undefined), { timeoutMs: 20_000, what: `${metric} at ${count}` });
  const aggregate = (metric: string, value: number) => httpRequest(`${gw}/pipeline/aggregate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json({ metric_name: metric, value }) });

  it('answers each with a 4xx in the documented shape naming the field, and leaves /pipeline/all-stats as it was', async () => {
    expect((await aggregate('corpus_before', 1)).status).toBe(202);
    await seen('corpus_before', 1);
    const before = totals(await allStats());

    const cases = corpus();
    expect(cases.length).toBeGreaterThanOrEqual(100);
    expect(new Set(cases.map((c) => c.route))).toEqual(new Set(ROUTES));
    const wrong: unknown[] = [];
    for (const c of cases) {
      const r = await httpRequest(`${gw}${c.route}`, { method: 'POST', headers: { 'content-type': c.type ?? 'application/json' }, body: c.body });
      const error = r.json?.error;
      const shaped =
        r.json !== undefined &&
        Object.keys(r.json).join() === 'error' &&
        typeof error?.code === 'string' &&
        typeof error?.message === 'string' &&
        Object.keys(error).every((k) => ['code', 'message', 'details'].includes(k));
      if (!(r.status >= 400 && r.status < 500) || !shaped || !String(error?.message).includes(c.field)) {
        wrong.push({ route: c.route, body: c.body.slice(0, 120), field: c.field, status: r.status, answer: r.text.slice(0, 200) });
      }
    }
    expect(wrong).toEqual([]);

    // A marker after the corpus: once the aggregator has folded it, anything the corpus let through would show too.
    expect((await aggregate('corpus_after', 1)).status).toBe(202);
    await seen('corpus_after', 1);
    const after = totals(await allStats());
    delete after['corpus_after'];
    expect(after).toEqual(before);
  });
});

import { BatchProcessRequestSchema, INTERNAL_TOPICS } from '@pipeline/contracts';
import { timeWindowMetrics } from '@pipeline/batch';
import { toOutgoing } from '@pipeline/kafka';
import { httpRequest, waitFor } from '@pipeline/testing';
import { metricEvents, startBatchServices } from './memoryHarness';

const postText = (url: string, body: string) => httpRequest(`${url}/pipeline/spark/process`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
const post = (url: string, body: unknown) => postText(url, JSON.stringify(body));
const invalid = (message: string) => ({ error: { code: 'invalid_request', message } });
const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);

async function finished(url: string, jobId: string) {
  return waitFor(async () => {
    const r = await httpRequest(`${url}/pipeline/spark/jobs/${jobId}`);
    return ['succeeded', 'failed', 'cancelled'].includes(r.json?.status) ? r.json : undefined;
  }, { timeoutMs: 10_000, what: `job ${jobId} to end` });
}

describe('POST /pipeline/spark/process validates at the door with the published schema (gateway + batch-processor, in-memory bus)', () => {
  let env: Awaited<ReturnType<typeof startBatchServices>>;
  beforeAll(async () => {
    env = await startBatchServices();
  });
  afterAll(() => env.stop());

  it('refuses a source topic that is not one of the six event topics with 400 naming the field and the allowed list (an allow-list, as for training)', async () => {
    const allowed = 'events.analytics, events.devices, events.reality, events.errors, events.metrics, events.user';
    const r = await post(env.url, { operation: 'process_batch', source: { topic: 'events.nope', from: 0, to: 1 } });
    expect([r.status, r.json]).toEqual([400, invalid(`source.topic must be one of ${allowed}, got "events.nope"`)]);
    const internal = await post(env.url, { operation: 'process_batch', source: { topic: INTERNAL_TOPICS.batchJobs, from: 0, to: 1 } });
    expect([internal.status, internal.json]).toEqual([400, invalid(`source.topic must be one of ${allowed}, got "pipeline.batch.jobs"`)]);
    const join = await post(env.url, { operation: 'join', join_key: 'k', source: { topic: 'events.user', from: 0, to: 1 }, right_source: { topic: 'nope', from: 0, to: 1 } });
    expect([join.status, join.json]).toEqual([400, invalid(`right_source.topic must be one of ${allowed}, got "nope"`)]);
    expect(env.bus.messages(INTERNAL_TOPICS.batchCommands)).toEqual([]); // no job was created
  });

  it('refuses an event topic that does not exist (e.g. deleted by an operator) with 400 (was 202, then a failed job)', async () => {
    const missing = await startBatchServices({ omitTopics: ['events.reality'] });
    try {
      const r = await post(missing.url, { operation: 'process_batch', source: { topic: 'events.reality', from: 0, to: 1 } });
      expect([r.status, r.json]).toEqual([400, invalid('source.topic must name an existing topic, got "events.reality"')]);
      const join = await post(missing.url, { operation: 'join', join_key: 'k', source: { topic: 'events.user', from: 0, to: 1 }, right_source: { topic: 'events.reality', from: 0, to: 1 } });
      expect([join.status, join.json]).toEqual([400, invalid('right_source.topic must name an existing topic, got "events.reality"')]);
      expect(missing.bus.messages(INTERNAL_TOPICS.batchCommands)).toEqual([]);
    } finally {
      await missing.stop();
    }
  });

  it('refuses unknown fields, naming the allowed ones: slide_minute is a typo, not a silent tumbling window', async () => {
    const r = await post(env.url, { operation: 'time_window_metrics', window_minutes: 10, slide_minute: 5, events: [{ timestamp: 0, value: 1 }] });
    expect([r.status, r.json]).toEqual([400, invalid('slide_minute is not an allowed field (allowed: operation, events, source, value_key, group_key, window_minutes, slide_minutes)')]);
    const proto = await postText(env.url, '{"operation":"process_batch","events":[{"timestamp":0}],"__proto__":{"x":1}}');
    expect([proto.status, proto.json]).toEqual([400, invalid('__proto__ is not an allowed field (allowed: operation, events, source, value_key)')]);
  });

  it('refuses a value of 1e309 (Infinity once parsed, which became "no value") and a string value, naming the event and field', async () => {
    const inf = await postText(env.url, '{"operation":"process_batch","events":[{"timestamp":0,"value":1},{"timestamp":0,"value":1e309}]}');
    expect([inf.status, inf.json]).toEqual([400, invalid('events[1].value must be a finite number, got Infinity')]);
    const str = await post(env.url, { operation: 'detect_anomalies', threshold_std: 2, events: [{ value: 'abc' }] });
    expect([str.status, str.json]).toEqual([400, invalid('events[0].value must be a finite number, got "abc"')]);
    expect(env.bus.messages(INTERNAL_TOPICS.batchCommands)).toEqual([]); // no job was created for either
  });

  it('refuses 2024-02-30T00:00:00Z, which the date-time format of the published schema refuses (was read as 1 March)', async () => {
    const r = await post(env.url, { operation: 'process_batch', source: { topic: 'events.metrics', from: '2024-02-30T00:00:00Z', to: '2024-03-02T00:00:00Z' } });
    expect([r.status, r.json]).toEqual([400, invalid('source.from must be an ISO-8601 date-time with a zone or epoch milliseconds, got "2024-02-30T00:00:00Z"')]);
    const event = await post(env.url, { operation: 'process_batch', events: [{ timestamp: '2024-02-30T00:00:00Z' }] });
    expect([event.status, event.json]).toEqual([400, invalid('events[0].timestamp must be an ISO-8601 date-time with a zone or epoch milliseconds, got "2024-02-30T00:00:00Z"')]);
  });

  it('accepts bodies the published schema accepts: time_window_metrics without window_minutes (60-minute windows), events with an empty payload', async () => {
    const events = metricEvents(5, T0);
    const windows = await post(env.url, { operation: 'time_window_metrics', events });
    expect([windows.status, windows.json.status]).toEqual([200, 'succeeded']);
    expect(windows.json.result).toEqual(JSON.parse(JSON.stringify(timeWindowMetrics(events, { windowMinutes: 60, valueKey: 'value' }))));
    const empty = await post(env.url, { operation: 'process_batch', events: [{ timestamp: T0, payload: {} }, { timestamp: T0 + 1000, payload: {}, value: 2 }] });
    expect([empty.status, empty.json.result.count, empty.json.result.value_count]).toEqual([200, 2, 1]);
    // what the schema requires, the validator requires, and says so: join_key for join, threshold_std for detect_anomalies
    const join = await post(env.url, { operation: 'join', left: [], right: [] });
    expect([join.status, join.json]).toEqual([400, invalid('join_key is required')]);
  });

  it('returns detect_anomalies stats in one shape, a list of {group, mean, stddev, count}, grouped or not', async () => {
    const events = [1, 1, 1, 1, 50].map((value, i) => ({ timestamp: T0 + i, value, host: i < 2 ? 'a' : 'b' }));
    const ungrouped = await post(env.url, { operation: 'detect_anomalies', threshold_std: 1.5, events });
    expect(ungrouped.json.result.stats).toEqual([{ group: null, mean: 10.8, stddev: expect.closeTo(19.6, 9), count: 5 }]);
    const grouped = await post(env.url, { operation: 'detect_anomalies', threshold_std: 1.5, group_key: 'host', events });
    expect(grouped.json.result.stats).toEqual([
      { group: 'a', mean: 1, stddev: 0, count: 2 },
      { group: 'b', mean: expect.closeTo(52 / 3, 9), stddev: expect.any(Number), count: 3 },
    ]);
  });

  it('serves the validator’s own schema as the request body of the operation in /openapi.json', async () => {
    const doc = (await httpRequest(`${env.url}/openapi.json`)).json;
    const served = doc.paths['/pipeline/spark/process'].post.requestBody.content['application/json'].schema;
    expect(served).toEqual(JSON.parse(JSON.stringify(BatchProcessRequestSchema, (k, v) => (k === '$id' ? undefined : v))));
  });

  it('skips records of a source range it cannot read, reports how many and why, and uses the record time when an event has none', async () => {
    const good = metricEvents(6, T0);
    const noTime = { topic: 'events.metrics', payload: { metric_name: 'm', value: 100 } };
    await env.bus.publishBatch([
      ...good.map((e) => toOutgoing(e as never)),
      { topic: 'events.metrics', key: 'm', value: 'not json', timestampMs: T0 + 1 },
      { topic: 'events.metrics', key: 'm', value: JSON.stringify({ ...good[0], id: 'bad', payload: { metric_name: 'm', value: 'abc' } }), timestampMs: T0 + 2 },
      { topic: 'events.metrics', key: 'm', value: JSON.stringify(noTime), timestampMs: T0 + 3 },
    ]);
    const res = await post(env.url, { operation: 'process_batch', source: { topic: 'events.metrics', from: T0, to: T0 + 60_000 } });
    expect(res.status).toBe(202);
    const job = await finished(env.url, res.json.job_id);
    expect([job.status, job.events_read, job.result.count, job.result.value_count, job.result.sum]).toEqual(['succeeded', 9, 7, 7, good.reduce((a, e) => a + e.payload.value, 0) + 100]);
    expect(job.result.time_span.start).toBe(new Date(T0).toISOString());
    expect(job.skipped).toEqual({
      count: 2,
      reasons: [
        { reason: 'record is not JSON', count: 1 },
        { reason: 'value must be a finite number', count: 1 },
      ],
      examples: [
        { topic: 'events.metrics', partition: expect.any(Number), offset: expect.any(String), error: 'record is not JSON' },
        { topic: 'events.metrics', partition: expect.any(Number), offset: expect.any(String), error: 'value must be a finite number, got "abc"' },
      ],
    });
  });
});

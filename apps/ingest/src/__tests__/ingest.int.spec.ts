import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { INTERNAL_TOPICS } from '@pipeline/contracts';
import { partitionForKey } from '@pipeline/kafka';
import { httpRequest, kafkaBrokers } from '@pipeline/testing';
import { collect, startIngestAndGateway } from './harness';

jest.setTimeout(120_000);

const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('ingest and gateway on a real broker', () => {
  let env: Awaited<ReturnType<typeof startIngestAndGateway>>;
  let topics: Awaited<ReturnType<typeof collect>>;
  const marker = `run-${randomUUID()}`; // every event this suite sends carries it, so other suites' traffic is ignored
  const mine = (m: { value: Buffer }) => m.value.toString().includes(marker);

  beforeAll(async () => {
    env = await startIngestAndGateway({ VALIDATOR_GROUP_ID: `validator-${marker}` }); // not shared with other suites' ingest processes
    topics = await collect(['events.metrics', 'events.user', 'events.analytics', 'events.errors', 'events.devices', 'events.reality', INTERNAL_TOPICS.deadLetter], { fromBeginning: false });
    await new Promise((r) => setTimeout(r, 3_000)); // let the collector's group settle before producing
  });
  afterAll(async () => {
    await topics?.stop();
    await env?.stop();
  });

  it('puts an event posted over HTTP on its topic with its key, id and timestamp, on the partition of its key', async () => {
    const res = await httpRequest(`${env.gatewayUrl}/pipeline/events`, json({ topic: 'events.metrics', payload: { metric_name: 'latency', value: 150.5, group_by: 'api', tags: { run: marker } } }));
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ accepted: 1, rejected: [], rejected_count: 0, ids: [expect.any(String)] });
    const [msg] = await topics.waitFor((m) => mine(m) && m.topic === 'events.metrics');
    const event = JSON.parse(msg!.value.toString());
    expect(event).toMatchObject({ id: res.json.ids[0], topic: 'events.metrics', type: 'metrics', key: 'latency|api', source: 'http', schema_version: 1 });
    expect(Date.now() - Date.parse(event.timestamp)).toBeLessThan(60_000);
    expect(msg!.key).toBe('latency|api');
    expect(msg!.partition).toBe(partitionForKey('latency|api', 3));
    expect(msg!.timestampMs).toBe(Date.parse(event.timestamp));
  });

  it('accepts NDJSON and JSON arrays, rejecting only the bad events by index', async () => {
    const lines = [
      { topic: 'events.user', payload: { user_id: 'u1', action: 'click', properties: { run: marker } } },
      { topic: 'events.user', payload: { user_id: 'u1', action: 42, properties: { run: marker } } },
      { topic: 'events.analytics', payload: { user_id: 'u2', action: 'login', properties: { run: marker } } },
    ];
    const ndjson = lines.map((l) => JSON.stringify(l)).join('\n') + '\n{not json\n';
    const res = await httpRequest(`${env.gatewayUrl}/pipeline/events`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: ndjson });
    expect(res.status).toBe(202);
    expect(res.json.accepted).toBe(2);
    expect(res.json.rejected).toEqual([
      { index: 1, error: 'payload.action must be string, got 42' },
      { index: 3, error: expect.stringMatching(/^line is not valid JSON: /) },
    ]);
    const arr = await httpRequest(`${env.ingestUrl}/v1/events`, json([lines[0], lines[1]]));
    expect([arr.status, arr.json.accepted, arr.json.rejected]).toEqual([202, 1, [{ index: 1, error: 'payload.action must be string, got 42' }]]);
    await topics.waitFor((m) => mine(m) && (m.topic === 'events.user' || m.topic === 'events.analytics'), 3);
  });

  it('answers bad input with a clear 4xx in the one error shape and publishes nothing', async () => {
    const bad = `bad-${randomUUID()}`;
    const url = `${env.gatewayUrl}/pipeline/events`;
    const post = (body: string | Buffer, type = 'application/json') => httpRequest(url, { method: 'POST', headers: { 'content-type': type }, body });
    let deep = `{"user_id":"u","action":"a","properties":{"m":"${bad}","x":`;
    deep += '['.repeat(10_000) + ']'.repeat(10_000) + '}}';
    const cases: Array<[string, Promise<Awaited<ReturnType<typeof post>>>, number, string, RegExp | string]> = [
      ['malformed JSON', post(`{"topic":"events.metrics","payload":{"metric_name":"${bad}",`), 400, 'invalid_json', /^request body is not valid JSON/],
      ['wrong content type', post(`topic=events.metrics&m=${bad}`, 'application/x-www-form-urlencoded'), 415, 'unsupported_media_type', 'Content-Type must be application/json or application/x-ndjson, got "application/x-www-form-urlencoded"'],
      ['missing field', post(JSON.stringify({ topic: 'events.metrics', payload: { metric_name: bad } })), 400, 'invalid_event', 'payload.value is required'],
      ['string value', post(JSON.stringify({ topic: 'events.metrics', payload: { metric_name: bad, value: '12' } })), 400, 'invalid_event', 'payload.value must be number, got "12"'],
      ['NaN literal', post(`{"topic":"events.metrics","payload":{"metric_name":"${bad}","value":NaN}}`), 400, 'invalid_json', /^request body is not valid JSON/],
      ['Infinity literal', post(`{"topic":"events.metrics","payload":{"metric_name":"${bad}","value":Infinity}}`), 400, 'invalid_json', /^request body is not valid JSON/],
      ['unknown topic', post(JSON.stringify({ topic: 'events.nope', payload: { metric_name: bad, value: 1 } })), 400, 'invalid_event', /^topic must be one of events\.analytics, .* got "events\.nope"$/],
      ['10,000-deep nesting', post(`{"topic":"events.analytics","payload":${deep}}`), 400, 'json_too_deep', 'request body must nest objects and arrays at most 64 levels deep'],
      ['40-deep properties', post(`{"topic":"events.analytics","payload":{"user_id":"u","action":"${bad}","properties":${'{"a":'.repeat(40)}1${'}'.repeat(40)}}}`), 400, 'invalid_event', 'payload must nest at most 32 levels deep'],
      ['empty batch', post('[]'), 400, 'empty_batch', 'the request contains no events'],
      ['empty NDJSON', post('\n\n', 'application/x-ndjson'), 400, 'empty_batch', 'the request contains no events'],
      ['all bad batch', post(JSON.stringify([{ topic: 'events.metrics', payload: { metric_name: bad } }, { topic: 'x' }])), 400, 'invalid_event', /^all 2 events were rejected; first: events\[0\]: payload\.value is required$/],
      ['oversized body', post(Buffer.alloc(11 * 1024 * 1024, 0x20)), 413, 'payload_too_large', /exceeds the limit of 10485760 bytes$/],
    ];
    for (const [name, pending, status, code, message] of cases) {
      const res = await pending;
      expect({ name, status: res.status, code: res.json?.error?.code }).toEqual({ name, status, code });
      if (typeof message === 'string') expect(res.json.error.message).toBe(message);
      else expect(res.json.error.message).toMatch(message);
      expect(res.text).not.toMatch(/\bat .*\.(js|ts):\d+/); // no stack traces
    }
    // A marker-tagged good event afterwards proves the pipeline is flowing; none of the bad ones arrived before it.
    const ok = await httpRequest(url, json({ topic: 'events.metrics', payload: { metric_name: bad, value: 1, tags: { ok: 'yes' } } }));
    expect(ok.status).toBe(202);
    await topics.waitFor((m) => m.value.toString().includes(bad));
    await new Promise((r) => setTimeout(r, 500));
    expect(topics.find((m) => m.value.toString().includes(bad)).map((m) => JSON.parse(m.value.toString()).payload.tags)).toEqual([{ ok: 'yes' }]);
  });

  it('consumes an event that kcat publishes straight to a topic, and dead-letters a malformed one with its reason', async () => {
    const brokers = kafkaBrokers().join(',');
    const good = JSON.stringify({ payload: { user_id: 'kcat-user', action: 'kcat', properties: { run: marker } } });
    const badSchema = JSON.stringify({ payload: { user_id: 'kcat-user', action: 7, properties: { run: marker } } });
    const notJson = `this is not json ${marker}`;
    for (const [value, key] of [[good, 'k1'], [badSchema, 'k2'], [notJson, 'k3']] as const) {
      execFileSync('kcat', ['-P', '-b', brokers, '-t', 'events.user', '-k', key], { input: value + '\n' });
    }
    await topics.waitFor((m) => mine(m) && m.topic === 'events.user' && m.key === 'k1');
    const dead = await topics.waitFor((m) => mine(m) && m.topic === INTERNAL_TOPICS.deadLetter, 2);
    const byKey = Object.fromEntries(dead.map((d) => [d.key, d.headers]));
    expect(byKey['k2']).toMatchObject({ 'dlq-reason': 'schema', 'dlq-error': 'payload.action must be string, got 7', 'dlq-topic': 'events.user' });
    expect(byKey['k3']).toMatchObject({ 'dlq-reason': 'invalid_json', 'dlq-topic': 'events.user' });
    expect(byKey['k3']!['dlq-error']).toMatch(/^message is not valid JSON: /);
    expect(Object.keys(byKey).sort()).toEqual(['k2', 'k3']);
    // kcat, an independent client, reads the dead letter back too.
    const out = execFileSync('kcat', ['-C', '-b', brokers, '-t', INTERNAL_TOPICS.deadLetter, '-o', 'beginning', '-e', '-q', '-f', '%k %h\\n'], { encoding: 'utf8' });
    expect(out.split('\n').some((l) => l.startsWith('k3 ') && l.includes('dlq-reason=invalid_json'))).toBe(true);
  });

  it('trusts the pipeline-validated header: a malformed message carrying it is not dead-lettered, the same without it is', async () => {
    const brokers = kafkaBrokers().join(',');
    const forged = JSON.stringify({ payload: { user_id: 'kcat-user', action: 7, properties: { run: marker, forged: true } } });
    const plain = JSON.stringify({ payload: { user_id: 'kcat-user', action: 7, properties: { run: marker, forged: false } } });
    // One key, so one partition: the validator has passed over the first when it dead-letters the second.
    execFileSync('kcat', ['-P', '-b', brokers, '-t', 'events.user', '-k', 'forged', '-H', 'pipeline-validated=1'], { input: forged + '\n' });
    execFileSync('kcat', ['-P', '-b', brokers, '-t', 'events.user', '-k', 'forged'], { input: plain + '\n' });
    const dead = await topics.waitFor((m) => mine(m) && m.topic === INTERNAL_TOPICS.deadLetter && m.key === 'forged');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(topics.find((m) => mine(m) && m.topic === INTERNAL_TOPICS.deadLetter && m.key === 'forged').map((m) => m.value.toString())).toEqual([plain]);
    expect(dead[0]!.headers).toMatchObject({ 'dlq-reason': 'schema', 'dlq-error': 'payload.action must be string, got 7' });
  });

  it('enforces API keys on /pipeline routes when configured', async () => {
    const secured = await startIngestAndGateway({ API_KEYS: 'k-one,k-two', VALIDATOR_GROUP_ID: `v-${marker}` });
    try {
      const url = `${secured.gatewayUrl}/pipeline/aggregate`;
      const body = JSON.stringify({ metric_name: `auth-${marker}`, value: 1 });
      const none = await httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect([none.status, none.json.error.code, none.headers['www-authenticate']]).toEqual([401, 'unauthorized', 'Bearer']);
      const wrong = await httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'nope' }, body });
      expect([wrong.status, wrong.json.error.message]).toEqual([401, 'invalid API key']);
      const bearer = await httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k-two' }, body });
      expect(bearer.status).toBe(202);
      const health = await httpRequest(`${secured.gatewayUrl}/healthz`);
      expect(health.status).toBe(200); // probes stay open
    } finally {
      await secured.stop();
    }
  });

  it('publishes /pipeline/aggregate metrics to events.metrics and validates them', async () => {
    const res = await httpRequest(`${env.gatewayUrl}/pipeline/aggregate`, json({ metrics: [{ metric_name: `agg-${marker}`, value: 1.5, group_by: 'g' }, { metric_name: `agg-${marker}`, value: 2 }] }));
    expect(res.status).toBe(202);
    expect(res.json.accepted).toBe(2);
    const msgs = await topics.waitFor((m) => mine(m) && m.topic === 'events.metrics' && m.value.toString().includes('agg-'), 2);
    expect(msgs.map((m) => m.key).sort()).toEqual([`agg-${marker}`, `agg-${marker}|g`]);
    const bad = await httpRequest(`${env.gatewayUrl}/pipeline/aggregate`, json({ metrics: [{ metric_name: 'x', value: 1 }, { metric_name: 'y', value: 'NaN' }] }));
    expect([bad.status, bad.json.error.message]).toEqual([400, 'metrics[1].value must be number, got "NaN"']);
    const empty = await httpRequest(`${env.gatewayUrl}/pipeline/aggregate`, json({ metrics: [] }));
    expect([empty.status, empty.json.error.code]).toEqual([400, 'empty_batch']);
  });

  it('serves health, readiness, metrics and the OpenAPI document', async () => {
    expect((await httpRequest(`${env.ingestUrl}/readyz`)).json).toEqual({ status: 'ready', checks: { kafka: 'ok' } });
    const metrics = (await httpRequest(`${env.ingestUrl}/metrics`)).text;
    expect(metrics).toMatch(/pipeline_ingest_events_accepted_total\{topic="events.metrics",service="ingest"\} \d+/);
    expect(metrics).toMatch(/pipeline_messages_published_total\{topic="events.metrics",service="ingest"\} \d+/);
    expect(metrics).toMatch(/pipeline_deadletter_total\{topic="events.user",reason="schema",service="ingest"\} [1-9]/);
    expect(metrics).toContain('process_resident_memory_bytes');
    const doc = (await httpRequest(`${env.gatewayUrl}/openapi.json`)).json;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.schemas.MetricPayloadV1.required).toEqual(['metric_name', 'value']);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/pipeline/events', '/pipeline/aggregate']));
  });
});

import { InMemoryBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { startService, type RunningService } from '@pipeline/service-runtime';
import { httpRequest } from '@pipeline/testing';
import { createIngest, readIngestConfig } from '../../../ingest/src/index';
import { createGateway, readGatewayConfig } from '../index';

/** `{"a":{"a":…1…}}` nested `levels` deep, as text (building it as an object and stringifying it would overflow first). */
const deepObject = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
const deepArray = (levels: number) => '['.repeat(levels) + '1' + ']'.repeat(levels);
const tooDeep = { code: 'json_too_deep', message: 'request body must nest objects and arrays at most 64 levels deep', details: { max_depth: 64 } };

describe('the edge refuses bad requests with a 4xx (gateway and ingest on the in-memory bus)', () => {
  const bus = new InMemoryBus({ defaultPartitions: 3 });
  let ingest: RunningService;
  let gateway: RunningService;
  let gw: string;
  let ing: string;
  const post = (url: string, body: string, type = 'application/json') => httpRequest(url, { method: 'POST', headers: { 'content-type': type }, body });

  beforeAll(async () => {
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const base = { HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent' };
    ingest = await startService(createIngest, readIngestConfig({ ...base, INGEST_VALIDATOR: 'off' }, { requireBrokers: false }), bus);
    gateway = await startService(createGateway, readGatewayConfig({ ...base, INGEST_URL: `http://127.0.0.1:${ingest.port}` }, { requireBrokers: false }), bus);
    gw = `http://127.0.0.1:${gateway.port}`;
    ing = `http://127.0.0.1:${ingest.port}`;
  });
  afterAll(async () => {
    await gateway.stop();
    await ingest.stop();
    await bus.close();
  });

  it('answers 400 json_too_deep, not 500, for deeply nested bodies on every JSON route', async () => {
    const cases: Array<[string, string]> = [
      ['/pipeline/spark/process', `{"operation":"process_batch","events":[${deepObject(8_000)}]}`],
      ['/pipeline/spark/process', `{"operation":"join","join_key":"k","left":${deepArray(5_000)},"right":[]}`],
      ['/pipeline/ml/train', `{"model_name":"m","model_type":"kmeans","feature_keys":["a"],"data":[${deepObject(10_000)}]}`],
      ['/pipeline/ml/train', `{"model_name":"m","model_type":"kmeans","feature_keys":["a"],"data":[{"a":1}],"params":${deepObject(10_000)}}`],
      ['/pipeline/ml/predict', `{"model_name":"m","features":${deepArray(10_000)}}`],
      ['/pipeline/aggregate', `{"metric_name":"m","value":1,"tags":${deepObject(10_000)}}`],
      ['/pipeline/events', `[${deepObject(10_000)}]`],
    ];
    for (const [path, body] of cases) {
      const r = await post(`${gw}${path}`, body);
      expect([path, r.status, r.json]).toEqual([path, 400, { error: tooDeep }]);
    }
    const direct = await post(`${ing}/v1/events`, deepArray(10_000));
    expect([direct.status, direct.json]).toEqual([400, { error: tooDeep }]);
  });

  it('rejects an NDJSON line nested too deep by its index and publishes the others', async () => {
    const good = JSON.stringify({ topic: 'events.metrics', payload: { metric_name: 'depth_test', value: 1 } });
    const r = await post(`${ing}/v1/events`, `${good}\n${deepObject(10_000)}\n${good}\n`, 'application/x-ndjson');
    expect([r.status, r.json.accepted, r.json.rejected]).toEqual([202, 2, [{ index: 1, error: 'line must nest objects and arrays at most 64 levels deep' }]]);
  });

  it('says what a body must be when it is JSON but not an object, instead of calling it invalid JSON', async () => {
    const cases: Array<[string, string, string]> = [
      [`${gw}/pipeline/aggregate`, 'null', 'body must be a JSON object, got null'],
      [`${gw}/pipeline/ml/train`, '5', 'body must be a JSON object, got 5'],
      [`${gw}/pipeline/ml/predict`, '"x"', 'body must be a JSON object, got "x"'],
      [`${ing}/v1/events`, 'null', 'body must be an event (a JSON object) or an array of events, got null'],
    ];
    for (const [url, body, message] of cases) {
      const r = await post(url, body);
      expect([url, r.status, r.json]).toEqual([url, 400, { error: { code: 'invalid_request', message } }]);
    }
  });

  it('answers 400 naming the path parameter for malformed percent-escapes (was 500, URIError)', async () => {
    for (const [path, name, raw] of [
      ['/pipeline/stats/%ZZ', 'metric_name', '%ZZ'],
      ['/pipeline/spark/jobs/%E0%A4%A', 'id', '%E0%A4%A'],
      ['/pipeline/ml/models/%C0', 'name', '%C0'],
    ]) {
      const r = await httpRequest(`${gw}${path}`);
      expect([path, r.status, r.json]).toEqual([
        path,
        400,
        { error: { code: 'invalid_path_parameter', message: `path parameter ${name} must be percent-encoded UTF-8, got "${raw}"`, details: { parameter: name } } },
      ]);
    }
  });

  it('answers 405 with Allow for a wrong method on an existing path (was 404), before the body checks (was 415 without a Content-Type)', async () => {
    const cases: Array<[string, string, string]> = [
      ['DELETE', '/pipeline/aggregate', 'POST'],
      ['POST', '/pipeline/stats/latency', 'GET, HEAD'],
      ['GET', '/pipeline/events', 'POST'],
      ['PUT', '/pipeline/spark/jobs/j1', 'GET, HEAD, DELETE'],
    ];
    for (const [method, path, allow] of cases) {
      const r = await httpRequest(`${gw}${path}`, { method });
      expect([method, path, r.status, r.headers['allow'], r.json.error.code]).toEqual([method, path, 405, allow, 'method_not_allowed']);
    }
    const unknown = await httpRequest(`${gw}/pipeline/nothing-here`, { method: 'DELETE' });
    expect([unknown.status, unknown.json.error.code]).toEqual([404, 'not_found']);
  });

  it('names the field and what was expected for union-typed fields and capped arrays', async () => {
    const metrics = Array.from({ length: 10_001 }, () => ({ metric_name: 'm', value: 1 }));
    const capped = await post(`${gw}/pipeline/aggregate`, JSON.stringify({ metrics }));
    expect([capped.status, capped.json]).toEqual([400, { error: { code: 'invalid_metric', message: 'metrics must have at most 10000 items, got 10001' } }]);
    const stamped = await post(`${gw}/pipeline/aggregate`, JSON.stringify({ metric_name: 'm', value: 1, timestamp: 'yesterday' }));
    expect([stamped.status, stamped.json.error.message]).toEqual([400, 'timestamp must be an ISO-8601 date-time with a zone or epoch milliseconds, got "yesterday"']);
    const event = await post(`${gw}/pipeline/events`, JSON.stringify({ topic: 'events.metrics', timestamp: 'yesterday', payload: { metric_name: 'm', value: 1 } }));
    expect([event.status, event.json.error.message]).toEqual([400, 'timestamp must be an ISO-8601 date-time with a zone or epoch milliseconds, got "yesterday"']);
  });

  it('refuses control characters and invalid UTF-8 in metric_name with 400 naming the field (they were stored and echoed back)', async () => {
    const refused = (message: string, code = 'invalid_metric') => ({ error: { code, message } });
    const nul = await post(`${gw}/pipeline/aggregate`, JSON.stringify({ metric_name: 'cpu\u0000load', value: 1 }));
    expect([nul.status, nul.json]).toEqual([400, refused('metric_name must not contain control characters or invalid UTF-8, got "cpu\\u0000load"')]);
    const escape = await post(`${gw}/pipeline/aggregate`, JSON.stringify({ metrics: [{ metric_name: 'ok', value: 1 }, { metric_name: 'red\u001b[31m', value: 1 }] }));
    expect([escape.status, escape.json]).toEqual([400, refused('metrics[1].metric_name must not contain control characters or invalid UTF-8, got "red\\u001b[31m"')]);
    const surrogate = await post(`${gw}/pipeline/aggregate`, '{"metric_name":"cpu\\ud800","value":1}');
    expect([surrogate.status, surrogate.json]).toEqual([400, refused('metric_name must not contain control characters or invalid UTF-8, got "cpu\\ud800"')]);
    const bytes = Buffer.concat([Buffer.from('{"metric_name":"cpu'), Buffer.from([0xff, 0xfe]), Buffer.from('","value":1}')]);
    const invalidUtf8 = await httpRequest(`${gw}/pipeline/aggregate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bytes });
    expect([invalidUtf8.status, invalidUtf8.json]).toEqual([400, refused('metric_name must be valid UTF-8 (the request has bytes that are not)', 'invalid_request')]);
    const event = await post(`${gw}/pipeline/events`, JSON.stringify({ topic: 'events.metrics', payload: { metric_name: 'tab\there', value: 1 } }));
    expect([event.status, event.json.error.message]).toEqual([400, 'payload.metric_name must not contain control characters or invalid UTF-8, got "tab\\there"']);
    const emoji = await post(`${gw}/pipeline/aggregate`, JSON.stringify({ metric_name: 'latency_🚀', value: 1 }));
    expect(emoji.status).toBe(202);
  });
});

import type { Server } from 'node:http';
import { httpRequest } from '@pipeline/testing';
import { createLogger } from './logger';
import { jsonBody, jsonNestsDeeperThan, MAX_JSON_DEPTH, pathOfReplacementChar } from './jsonBody';
import { ServiceMetrics } from './metrics';
import { closeServer, createServiceApp, listen } from './serviceApp';

const nested = (levels: number, open = '{"a":', close = '}') => open.repeat(levels) + '1' + close.repeat(levels);

describe('jsonNestsDeeperThan', () => {
  it('counts objects and arrays, not brackets inside strings or escaped quotes', () => {
    expect(jsonNestsDeeperThan('{"a":[1]}', 2)).toBe(false);
    expect(jsonNestsDeeperThan('{"a":[[1]]}', 2)).toBe(true);
    expect(jsonNestsDeeperThan('[{},{},[]]', 2)).toBe(false);
    expect(jsonNestsDeeperThan('{"[[[[":"{{{{", "b":"\\"[[[["}', 1)).toBe(false);
    expect(jsonNestsDeeperThan('"\\\\"', 0)).toBe(false);
    expect(jsonNestsDeeperThan('["\\\\",[1]]', 1)).toBe(true);
    expect(jsonNestsDeeperThan('5', 0)).toBe(false);
  });

  it('walks 100,000 levels without recursion', () => {
    expect(jsonNestsDeeperThan(nested(100_000, '[', ']'), MAX_JSON_DEPTH)).toBe(true);
    expect(jsonNestsDeeperThan(nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(false);
    expect(jsonNestsDeeperThan(nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe(true);
  });
});

describe('jsonBody', () => {
  let server: Server;
  let url: string;
  const post = (body: string, type = 'application/json') => httpRequest(`${url}/echo`, { method: 'POST', headers: { 'content-type': type }, body });

  beforeAll(async () => {
    const app = createServiceApp({
      metrics: new ServiceMetrics('test'),
      logger: createLogger('test', 'silent'),
      readiness: [],
      routes: (a) => {
        a.use(jsonBody({ limitBytes: 1 << 20, expected: 'a JSON object' }));
        a.post('/echo', (req, res) => void res.json({ body: req.body as unknown }));
      },
    });
    server = await listen(app, '127.0.0.1', 0);
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => closeServer(server));

  it('refuses bytes that are not UTF-8 with 400 naming the field they are in (they were decoded to U+FFFD and stored)', async () => {
    const body = (prefix: string, suffix: string) => Buffer.concat([Buffer.from(prefix), Buffer.from([0xc3, 0x28]), Buffer.from(suffix)]);
    const post = (b: Buffer) => httpRequest(`${url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: b });
    const inValue = await post(body('{"metrics":[{"metric_name":"ok"},{"metric_name":"bad', '"}]}'));
    expect([inValue.status, inValue.json]).toEqual([400, { error: { code: 'invalid_request', message: 'metrics[1].metric_name must be valid UTF-8 (the request has bytes that are not)' } }]);
    const inKey = await post(body('{"ta', 'g":1}'));
    expect(inKey.json.error.message).toBe('ta\uFFFD(g (a field name) must be valid UTF-8 (the request has bytes that are not)');
    const realReplacementChar = await post(Buffer.from('{"name":"\uFFFD"}'));
    expect([realReplacementChar.status, realReplacementChar.json]).toEqual([200, { body: { name: '\uFFFD' } }]);
    expect(pathOfReplacementChar({ a: [1, { b: 'x\uFFFD' }] })).toBe('a[1].b');
  });

  it('refuses a body nested deeper than the limit with 400 naming the limit, before parsing it', async () => {
    for (const body of [nested(10_000), nested(10_000, '[', ']'), `{"rows":[${nested(5_000)}]}`, nested(MAX_JSON_DEPTH + 1)]) {
      const r = await post(body);
      expect([r.status, r.json]).toEqual([
        400,
        { error: { code: 'json_too_deep', message: `request body must nest objects and arrays at most ${MAX_JSON_DEPTH} levels deep`, details: { max_depth: MAX_JSON_DEPTH } } },
      ]);
    }
    const deepest = await post(nested(MAX_JSON_DEPTH));
    expect(deepest.status).toBe(200);
  });

  it('says what it expected for JSON that is not an object or array', async () => {
    for (const [body, got] of [['null', 'null'], ['5', '5'], ['"x"', '"x"'], ['true', 'true']]) {
      const r = await post(body!);
      expect([r.status, r.json]).toEqual([400, { error: { code: 'invalid_request', message: `body must be a JSON object, got ${got}` } }]);
    }
  });

  it('keeps invalid JSON, arrays and empty bodies as before', async () => {
    const bad = await post('{"a":');
    expect([bad.status, bad.json.error.code, bad.json.error.message]).toEqual([400, 'invalid_json', expect.stringMatching(/^request body is not valid JSON: /)]);
    expect((await post('[1,{"b":"}"}]')).json).toEqual({ body: [1, { b: '}' }] });
    expect((await post('')).json).toEqual({ body: {} });
    expect((await post('{"a":1}', 'application/json; charset=utf-8')).json).toEqual({ body: { a: 1 } });
  });
});

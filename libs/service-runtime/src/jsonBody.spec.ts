import type { Server } from 'node:http';
import { httpRequest } from '@pipeline/testing';
import { createLogger } from './logger';
import { jsonBody, jsonNestsDeeperThan, MAX_JSON_DEPTH } from './jsonBody';
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

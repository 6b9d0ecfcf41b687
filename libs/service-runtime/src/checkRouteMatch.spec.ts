import type { Server } from 'node:http';
import express from 'express';
import { httpRequest } from '@pipeline/testing';
import { createLogger } from './logger';
import { ServiceMetrics } from './metrics';
import { closeServer, createServiceApp, listen } from './serviceApp';

describe('checkRouteMatch (installed by createServiceApp)', () => {
  let server: Server;
  let url: string;
  const call = (method: string, path: string) => httpRequest(`${url}${path}`, { method });

  beforeAll(async () => {
    const nested = express.Router();
    nested.get('/:key', (req, res) => void res.json({ key: req.params['key'] }));
    const app = createServiceApp({
      metrics: new ServiceMetrics('test'),
      logger: createLogger('test', 'silent'),
      readiness: [],
      routes: (a) => {
        a.use('/v1', (req, _res, next) => next(req.headers['authorization'] === 'no' ? new Error('auth ran') : undefined));
        a.get('/v1/things/:thing_id/parts/:part', (req, res) => void res.json(req.params));
        a.delete('/v1/things/:thing_id/parts/:part', (_req, res) => void res.status(204).end());
        a.post('/v1/things', (_req, res) => void res.status(201).json({}));
        a.use('/nested', nested);
      },
    });
    server = await listen(app, '127.0.0.1', 0);
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => closeServer(server));

  it('answers 405 with an Allow header, in the error shape, for a known path and another method', async () => {
    const put = await call('PUT', '/v1/things/t1/parts/p1');
    expect([put.status, put.headers['allow'], put.json]).toEqual([
      405,
      'GET, HEAD, DELETE',
      { error: { code: 'method_not_allowed', message: 'PUT is not allowed on /v1/things/:thing_id/parts/:part; allowed: GET, HEAD, DELETE', details: { allowed: ['GET', 'HEAD', 'DELETE'] } } },
    ]);
    const get = await call('GET', '/v1/things');
    expect([get.status, get.headers['allow'], get.json.error.message]).toEqual([405, 'POST', 'GET is not allowed on /v1/things; allowed: POST']);
    const health = await call('POST', '/healthz');
    expect([health.status, health.headers['allow']]).toEqual([405, 'GET, HEAD']);
    const options = await call('OPTIONS', '/v1/things/t1/parts/p1');
    expect([options.status, options.headers['allow'], options.text]).toEqual([204, 'GET, HEAD, DELETE', '']);
  });

  it('leaves matching methods, HEAD on GET routes and unknown paths alone', async () => {
    expect((await call('GET', '/v1/things/t1/parts/p%20q')).json).toEqual({ thing_id: 't1', part: 'p q' });
    expect((await call('HEAD', '/v1/things/t1/parts/p1')).status).toBe(200);
    expect((await call('DELETE', '/v1/things/t1/parts/p1')).status).toBe(204);
    const unknown = await call('PUT', '/v1/nothing');
    expect([unknown.status, unknown.json.error.code]).toEqual([404, 'not_found']);
  });

  it('answers 400 naming a path parameter that is not percent-encoded UTF-8, before other middleware runs', async () => {
    for (const [path, name, raw] of [
      ['/v1/things/%ZZ/parts/p', 'thing_id', '%ZZ'],
      ['/v1/things/t/parts/%E0%A4%A', 'part', '%E0%A4%A'],
    ]) {
      const r = await httpRequest(`${url}${path}`, { headers: { authorization: 'no' } });
      expect([r.status, r.json]).toEqual([
        400,
        { error: { code: 'invalid_path_parameter', message: `path parameter ${name} must be percent-encoded UTF-8, got "${raw}"`, details: { parameter: name } } },
      ]);
    }
  });

  it('maps the router’s URIError to 400 where the check cannot see the route (a nested router)', async () => {
    expect((await call('GET', '/nested/a%20b')).json).toEqual({ key: 'a b' });
    const r = await call('GET', '/nested/%ZZ');
    expect([r.status, r.json]).toEqual([400, { error: { code: 'invalid_path_parameter', message: 'a path parameter is not percent-encoded UTF-8' } }]);
  });
});

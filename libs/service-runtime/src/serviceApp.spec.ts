import type { Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { httpRequest } from '@pipeline/testing';
import { HttpError } from './httpErrors';
import { createLogger } from './logger';
import { ServiceMetrics } from './metrics';
import { closeServer, createServiceApp, listen } from './serviceApp';

describe('createServiceApp request metrics', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    const app = createServiceApp({
      metrics: new ServiceMetrics('test'),
      logger: createLogger('test', 'silent'),
      readiness: [],
      routes: (a) => {
        a.use('/pipeline', (req, _res, next) => next(req.headers['x-api-key'] === 'k' ? undefined : new HttpError(401, 'unauthorized', 'missing API key')));
        a.get('/pipeline/stats/:metric_name', (_req, res) => void res.json({}));
      },
    });
    server = await listen(app, '127.0.0.1', 0);
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => closeServer(server));

  const metricsText = async () => (await httpRequest(`${url}/metrics`)).text;
  const routeLabels = (text: string) => [...new Set([...text.matchAll(/pipeline_http_request_duration_seconds_count\{[^}]*route="([^"]*)"/g)].map((m) => m[1]))].sort();
  const randomPath = () => `/pipeline/${randomBytes(2048).toString('hex')}`;

  it('labels requests no route took "unmatched", so random paths do not grow /metrics', async () => {
    // One of each kind first, so every series exists before the measurement.
    await httpRequest(`${url}${randomPath()}`); // 401 from the auth middleware, before any route
    await httpRequest(`${url}/elsewhere/${randomBytes(8).toString('hex')}`); // 404
    await httpRequest(`${url}/pipeline/stats/m`, { headers: { 'x-api-key': 'k' } });
    await httpRequest(`${url}/pipeline/stats/m`, { method: 'POST' }); // 405
    await metricsText();
    const before = await metricsText();
    const sent: string[] = [];
    for (let i = 0; i < 100; i++) {
      const [anonymous, keyed] = [randomPath(), randomPath()];
      sent.push(anonymous, keyed);
      expect((await httpRequest(`${url}${anonymous}`)).status).toBe(401);
      expect((await httpRequest(`${url}${keyed}`, { headers: { 'x-api-key': 'k' } })).status).toBe(404);
    }
    const after = await metricsText();
    // The same request series before and after (only their values moved; the process and GC gauges are not
    // ours to fix), and no path text anywhere (path labels added 6.7 MB here).
    const seriesNames = (text: string) => text.split('\n').filter((l) => l.startsWith('pipeline_')).map((l) => l.slice(0, l.lastIndexOf(' '))).sort();
    expect(seriesNames(after)).toEqual(seriesNames(before));
    expect(sent.filter((p) => after.includes(p.slice(1, 40)))).toEqual([]);
    expect(routeLabels(after)).toEqual(['/metrics', '/pipeline/stats/:metric_name', 'unmatched']);
  }, 30_000); // 200 requests with 4 KB paths: seconds on a busy 2-core machine
});

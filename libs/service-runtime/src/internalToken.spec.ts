import type { Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpRequest } from '@pipeline/testing';
import { ConfigError, readBaseConfig } from './config';
import { bearerToken, parseInternalTokens, SecretSet } from './internalToken';
import { createLogger } from './logger';
import { ServiceMetrics } from './metrics';
import { closeServer, createServiceApp, listen } from './serviceApp';

const OLD = 'a'.repeat(32);
const NEW = 'b'.repeat(64);

describe('internal service token', () => {
  it('reads one token per line, all accepted, the first one sent; refuses short, spaced or empty files naming the line', () => {
    expect(parseInternalTokens(`${NEW}\n\n${OLD}\r\n`, 'F')).toEqual([NEW, OLD]);
    expect(() => parseInternalTokens('\n \n', 'F')).toThrow('F holds no token (one per line)');
    expect(() => parseInternalTokens(`${NEW}\nshort`, 'F')).toThrow('F line 2 must be a token of at least 32 characters without spaces (e.g. openssl rand -hex 32), got 5 characters');
    expect(() => parseInternalTokens(`${'c'.repeat(20)} ${'c'.repeat(20)}`, 'F')).toThrow('F line 1 must be a token of at least 32');
  });

  it('INTERNAL_TOKEN_FILE is read once into the base config; an unreadable or bad file stops start-up naming the variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'internal-token-'));
    const file = join(dir, 'token');
    writeFileSync(file, `${NEW}\n${OLD}\n`);
    expect(readBaseConfig({ INTERNAL_TOKEN_FILE: file }, 'svc', 1, { requireBrokers: false }).internalTokens).toEqual([NEW, OLD]);
    expect(readBaseConfig({}, 'svc', 1, { requireBrokers: false }).internalTokens).toBeUndefined();
    const missing = join(dir, 'missing');
    expect(() => readBaseConfig({ INTERNAL_TOKEN_FILE: missing }, 'svc', 1, { requireBrokers: false })).toThrow(new ConfigError(`INTERNAL_TOKEN_FILE must name a readable file, got "${missing}": ENOENT`));
    writeFileSync(file, 'short\n');
    expect(() => readBaseConfig({ INTERNAL_TOKEN_FILE: file }, 'svc', 1, { requireBrokers: false })).toThrow(ConfigError);
  });

  it('compares every secret and finds the matching one; Bearer is read in any case', () => {
    const set = new SecretSet([OLD, NEW]);
    expect([set.indexOf(OLD), set.indexOf(NEW), set.indexOf('x'), set.size]).toEqual([0, 1, -1, 2]);
    expect([bearerToken(`bearer  ${OLD} `), bearerToken(OLD), bearerToken(undefined)]).toEqual([OLD, undefined, undefined]);
  });

  describe('on an internal-only service app (real HTTP server)', () => {
    let server: Server;
    let url: string;
    beforeAll(async () => {
      const app = createServiceApp({
        metrics: new ServiceMetrics('test'),
        logger: createLogger('test', 'silent'),
        readiness: [],
        internalTokens: [NEW, OLD],
        routes: (a) => a.post('/v1/events', (_req, res) => void res.status(202).json({ accepted: 1 })),
      });
      server = await listen(app, '127.0.0.1', 0);
      url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    afterAll(() => closeServer(server));

    it('answers 401 without the token or with a wrong one, and takes either token of a rotation', async () => {
      const post = (authorization?: string) => httpRequest(`${url}/v1/events`, { method: 'POST', headers: authorization ? { authorization } : {}, body: '{}' });
      const none = await post();
      expect([none.status, none.headers['www-authenticate'], none.json.error.code, none.json.error.message]).toEqual([401, 'Bearer', 'unauthorized', expect.stringContaining('missing service token')]);
      const wrong = await post(`Bearer ${'z'.repeat(32)}`);
      expect([wrong.status, wrong.json.error.message]).toEqual([401, 'invalid service token']);
      const apiKeyStyle = await httpRequest(`${url}/v1/events`, { method: 'POST', headers: { 'x-api-key': NEW }, body: '{}' });
      expect(apiKeyStyle.status).toBe(401);
      expect([(await post(`Bearer ${NEW}`)).status, (await post(`Bearer ${OLD}`)).status]).toEqual([202, 202]);
    });

    it('leaves /healthz, /readyz and /metrics open to probes and Prometheus', async () => {
      const codes = await Promise.all(['/healthz', '/readyz', '/metrics'].map(async (p) => (await httpRequest(`${url}${p}`)).status));
      expect(codes).toEqual([200, 200, 200]);
    });
  });
});

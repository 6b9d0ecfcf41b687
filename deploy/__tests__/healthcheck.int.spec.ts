// deploy/docker/healthcheck.cjs, the image's HEALTHCHECK, run for real (as a node process, as the
// container runs it) against local HTTP servers. Integration tier: it spawns processes (no broker needed).
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from './support/tools';

describe('deploy/docker/healthcheck.cjs', () => {
  const script = join(REPO_ROOT, 'deploy/docker/healthcheck.cjs');
  let server: Server;
  let port: number;
  let handler: (path: string) => number | 'hang';

  beforeAll(async () => {
    server = createServer((req, res) => {
      const result = handler(req.url ?? '');
      if (result === 'hang') return; // never answers
      res.writeHead(result).end();
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  });

  const check = (env: Record<string, string>) =>
    new Promise<{ code: number; stderr: string }>((done) => {
      execFile(process.execPath, [script], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 10_000 }, (err, _stdout, stderr) =>
        done({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stderr }),
      );
    });

  it('exits 0 when GET /healthz answers 200 on HTTP_PORT', async () => {
    const paths: string[] = [];
    handler = (p) => (paths.push(p), 200);
    expect(await check({ HTTP_PORT: String(port) })).toEqual({ code: 0, stderr: '' });
    expect(paths).toEqual(['/healthz']);
  });

  it('exits 1 naming the status when /healthz answers 503', async () => {
    handler = () => 503;
    expect(await check({ HTTP_PORT: String(port) })).toEqual({ code: 1, stderr: `healthcheck: http://127.0.0.1:${port}/healthz answered 503\n` });
  });

  it('exits 1 when the server does not answer within HEALTHCHECK_TIMEOUT_MS', async () => {
    handler = () => 'hang';
    expect(await check({ HTTP_PORT: String(port), HEALTHCHECK_TIMEOUT_MS: '200' })).toEqual({
      code: 1,
      stderr: `healthcheck: http://127.0.0.1:${port}/healthz failed: no answer within 200 ms\n`,
    });
  });

  it('exits 1 when nothing listens on the port', async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const freePort = (closed.address() as AddressInfo).port;
    await new Promise((done) => closed.close(done));
    const result = await check({ HTTP_PORT: String(freePort) });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`healthcheck: http://127.0.0.1:${freePort}/healthz failed:`);
  });

  it('exits 1 with a message when neither HTTP_PORT nor a known APP gives a port', async () => {
    expect(await check({ APP: 'nope' })).toEqual({ code: 1, stderr: 'healthcheck: HTTP_PORT is unset and APP "nope" has no default port\n' });
  });
});

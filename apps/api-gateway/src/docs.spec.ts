import express from 'express';
import type { AddressInfo } from 'node:net';
import { docsRoutes } from './docs';

describe('docsRoutes: OpenAPI document and Swagger UI served from swagger-ui-dist', () => {
  let base: string;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const app = express();
    docsRoutes(app, () => ({ openapi: '3.1.0', info: { title: 'spec', version: '1' }, paths: {} }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections(); // fetch keeps its sockets alive; close would wait for their timeout
      });
  });
  afterAll(() => close());

  it('serves the document at /openapi.json', async () => {
    const r = await fetch(`${base}/openapi.json`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ openapi: '3.1.0', info: { title: 'spec' } });
  });

  it('serves the UI page and its assets from the package folder', async () => {
    const page = await fetch(`${base}/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/docs/assets/swagger-ui-bundle.js');
    const bundle = await fetch(`${base}/docs/assets/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(1_000_000);
    const css = await fetch(`${base}/docs/assets/swagger-ui.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/text\/css/);
    expect((await fetch(`${base}/docs/assets/no-such-file.js`)).status).toBe(404);
  });
});

import express, { type Express } from 'express';
import { dirname } from 'node:path';

/**
 * Folder of swagger-ui-dist's static assets. Resolved from its package.json rather than imported from
 * the package: its main module runs the 3.5 MB browser bundle in this process on import (4 MB of
 * source strings and its compiled code kept in the gateway's heap, which every full GC walks).
 */
const assetsDir = dirname(require.resolve('swagger-ui-dist/package.json'));

const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Event pipeline API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>`;
const init = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui', deepLinking: true });`;

/** GET /openapi.json and Swagger UI at /docs (assets served from swagger-ui-dist, no CDN). */
export function docsRoutes(app: Express, document: () => object): void {
  app.get('/openapi.json', (_req, res) => void res.json(document()));
  app.use('/docs/assets', express.static(assetsDir, { index: false, maxAge: '1h' }));
  app.get('/docs/init.js', (_req, res) => void res.type('application/javascript').send(init));
  app.get(['/docs', '/docs/'], (_req, res) => void res.type('html').send(page));
}

import express, { type Express } from 'express';
import { absolutePath } from 'swagger-ui-dist';

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
  app.use('/docs/assets', express.static(absolutePath(), { index: false, maxAge: '1h' }));
  app.get('/docs/init.js', (_req, res) => void res.type('application/javascript').send(init));
  app.get(['/docs', '/docs/'], (_req, res) => void res.type('html').send(page));
}

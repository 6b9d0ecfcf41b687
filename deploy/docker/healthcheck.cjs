// Container HEALTHCHECK: GET http://127.0.0.1:$HTTP_PORT/healthz; exit 0 on 2xx, 1 otherwise.
// node:24-slim has no curl, so this runs on node itself (global fetch). When HTTP_PORT is unset the
// port comes from the app's default (APP is baked into the image), matching deploy/README ports.
// A hung server counts as unhealthy after HEALTHCHECK_TIMEOUT_MS (default 2000 ms).
'use strict';

const DEFAULT_PORTS = {
  'api-gateway': 8080,
  ingest: 8081,
  aggregator: 8082,
  'ml-trainer': 8083,
  'ml-predictor': 8084,
  'batch-processor': 8085,
};

const port = process.env.HTTP_PORT || DEFAULT_PORTS[process.env.APP || ''];
if (!port) {
  console.error(`healthcheck: HTTP_PORT is unset and APP "${process.env.APP || ''}" has no default port`);
  process.exit(1);
}
const url = `http://127.0.0.1:${port}/healthz`;
const timeoutMs = Number(process.env.HEALTHCHECK_TIMEOUT_MS || 2000);

fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).then(
  (res) => {
    if (res.ok) process.exit(0);
    console.error(`healthcheck: ${url} answered ${res.status}`);
    process.exit(1);
  },
  (err) => {
    console.error(`healthcheck: ${url} failed: ${err && err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : err.message}`);
    process.exit(1);
  },
);

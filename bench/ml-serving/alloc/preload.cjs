// Allocation profile of ml-predictor (or ALLOC_PROFILE_APP, e.g. api-gateway) under the serving bench: V8's sampling heap profiler with every
// allocation kept (also those a scavenge or a mark-compact collected), written on SIGTERM together with
// the number of HTTP/2 streams (calls) the process served. Load it into the services of the bench:
//   BENCH_CLIENTS=native BENCH_ROUNDS=1 BENCH_APP_NODE_OPTIONS='--max-semi-space-size=1 --require ./bench/ml-serving/alloc/preload.cjs' npm run bench:ml-serving
//   node bench/ml-serving/alloc/report.mjs /tmp/ml-predictor-alloc-<pid>.json
// Only that app's process profiles itself; the sampling costs it CPU, so ignore that run's latencies.
// "calls" counts the HTTP/2 streams the process served (ml-predictor) or HTTP requests (api-gateway).
'use strict';
const app = process.env.ALLOC_PROFILE_APP || 'ml-predictor';
if (process.argv[1] && process.argv[1].includes(`/${app}/`)) {
  const inspector = require('node:inspector');
  const http2 = require('node:http2');
  const http = require('node:http');
  const fs = require('node:fs');
  const session = new inspector.Session();
  session.connect();
  let calls = 0;
  const createServer = http2.createServer;
  http2.createServer = function (...args) {
    const server = createServer.apply(this, args);
    if (app === 'ml-predictor') server.on('stream', () => calls++);
    return server;
  };
  const createHttpServer = http.createServer;
  http.createServer = function (...args) {
    const server = createHttpServer.apply(this, args);
    if (app !== 'ml-predictor') server.on('request', () => calls++);
    return server;
  };
  session.post('HeapProfiler.enable');
  session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  process.once('SIGTERM', () => {
    session.post('HeapProfiler.getSamplingProfile', (err, result) => {
      if (err) return console.error('alloc profile failed', err);
      const file = `/tmp/${app}-alloc-${process.pid}.json`;
      fs.writeFileSync(file, JSON.stringify({ calls, profile: result.profile }));
      console.error(`alloc profile: ${calls} calls → ${file}`);
    });
  });
}

// Open-loop load generator for serving.bench.ts. It runs in its own worker thread — its own event loop
// and heap, with a small young generation so its own scavenges stay well under a millisecond — and
// talks raw HTTP/2 (gRPC framing done by hand, the request bytes prepared by the bench) or HTTP/1.1,
// so per request it costs a fraction of what a grpc-js client costs and disturbs the measured server
// less on a 2-core machine.
//
// Request i is due at t0 + i/rate. Node timers tick in whole milliseconds, so requests go out in 1 ms
// ticks; a late tick sends everything overdue at once, and no request waits for a response (open loop).
// Latency = response complete − actual send time; how late each send was against its schedule is
// returned as well, together with this thread's own event-loop delay, so a stall of the client can be
// told apart from a slow server.
import http from 'node:http';
import http2 from 'node:http2';
import { PerformanceObserver, constants as perfConstants, monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';

export interface LoadSpec {
  kind: 'grpc' | 'rest';
  port: number;
  /** Request path, e.g. /ml.v1.PredictorService/Predict or /pipeline/ml/predict. */
  path: string;
  /** The whole request body: a length-prefixed gRPC message, or the JSON text. */
  body: Uint8Array;
  rate: number;
  seconds: number;
  /** Leading seconds sent at the same rate but left out of the results. */
  warmupSeconds: number;
}

export interface LoadResult {
  /** Per measured request, in ms; NaN for a failed one. */
  latencyMs: Float64Array;
  /** Per measured request: actual send time − scheduled send time, in ms. */
  lateMs: Float64Array;
  failed: number;
  firstError?: string;
  achievedPerSec: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** This thread's own GC pauses while measuring: start (ms since the first measured send), duration (ms), major or minor. */
  gcPauses: { atMs: number; ms: number; major: boolean }[];
}

type Send = (onDone: (error?: string) => void) => void;

function grpcSender(spec: LoadSpec): { send: Send; close: () => void } {
  const session = http2.connect(`http://127.0.0.1:${spec.port}`);
  session.on('error', () => undefined); // each stream reports its own failure
  const headers = { ':method': 'POST', ':path': spec.path, 'content-type': 'application/grpc', te: 'trailers' };
  return {
    send(onDone) {
      const stream = session.request(headers);
      let status: string | undefined;
      let httpStatus = 0;
      stream.on('response', (h) => {
        httpStatus = Number(h[':status']);
        if (h['grpc-status'] !== undefined) status = String(h['grpc-status']); // trailers-only answer
      });
      stream.on('trailers', (t) => (status = String(t['grpc-status'])));
      stream.on('data', () => undefined);
      stream.on('error', () => undefined);
      stream.on('close', () => onDone(httpStatus === 200 && status === '0' ? undefined : `HTTP ${httpStatus}, grpc-status ${status ?? 'none'}`));
      stream.end(spec.body);
    },
    close: () => session.close(),
  };
}

function restSender(spec: LoadSpec): { send: Send; close: () => void } {
  // Enough sockets that a request never queues in the client behind a busy one.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const options = { host: '127.0.0.1', port: spec.port, path: spec.path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': spec.body.length } };
  return {
    send(onDone) {
      const req = http.request(options, (res) => {
        res.resume();
        res.on('end', () => onDone(res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`));
      });
      req.on('error', (e) => onDone(e.message));
      req.end(spec.body);
    },
    close: () => agent.destroy(),
  };
}

function run(spec: LoadSpec): Promise<LoadResult> {
  const { send, close } = spec.kind === 'grpc' ? grpcSender(spec) : restSender(spec);
  const warm = Math.round(spec.warmupSeconds * spec.rate);
  const total = warm + Math.round(spec.seconds * spec.rate);
  const latency = new Float64Array(total);
  const late = new Float64Array(total);
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const gcPauses: LoadResult['gcPauses'] = [];
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (measuredStart === 0) continue;
      const kind = (e.toJSON() as { detail?: { kind?: number } }).detail?.kind;
      gcPauses.push({ atMs: e.startTime - measuredStart, ms: e.duration, major: kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR });
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  let sent = 0;
  let done = 0;
  let failed = 0;
  let firstError: string | undefined;
  let measuredStart = 0;
  const t0 = performance.now() + 5;
  const dueAt = (i: number) => t0 + (i * 1000) / spec.rate;
  return new Promise((resolve) => {
    const finish = () => {
      loop.disable();
      gcObserver.disconnect();
      close();
      const achievedPerSec = (total - warm) / ((performance.now() - measuredStart) / 1000);
      resolve({ latencyMs: latency.slice(warm), lateMs: late.slice(warm), failed, firstError, achievedPerSec, loopDelayP99Ms: loop.percentile(99) / 1e6, loopDelayMaxMs: loop.max / 1e6, gcPauses });
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && dueAt(sent) <= now) {
        const i = sent++;
        if (i === warm) {
          measuredStart = now;
          loop.enable();
        }
        const start = performance.now();
        late[i] = start - dueAt(i);
        send((error) => {
          latency[i] = error === undefined ? performance.now() - start : NaN;
          if (error !== undefined && i >= warm) {
            failed++;
            firstError ??= error;
          }
          if (++done === total) finish();
        });
      }
      if (sent < total) setTimeout(tick, Math.max(0, dueAt(sent) - performance.now()));
    };
    setTimeout(tick, 5);
  });
}

void run(workerData as LoadSpec).then((result) => parentPort!.postMessage(result));

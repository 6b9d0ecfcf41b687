import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type ClientHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { INTERNAL_TOPICS } from '@pipeline/contracts';
import { pipelineTopicSpecs, type EventBus } from '@pipeline/kafka';
import { encodeModel, trainModel } from '@pipeline/ml';
import { publishModel } from '@pipeline/model-registry';
import { createPredictorClient, type PredictorClient } from '@pipeline/proto';
import { createTestBus, freePort, kafkaBrokers, spawnApp, uniqueName, waitFor, type AppProcess } from '@pipeline/testing';
import { readPredictorConfig } from '../config';

jest.setTimeout(180_000);

const MIB = 1024 * 1024;
/** The predictor's defaults: GRPC_MAX_RECEIVE_BYTES (4 MiB) and GRPC_MAX_CONCURRENT_READS (16). */
const { maxReceiveMessageBytes: MESSAGE_BYTES, maxConcurrentReads: READS } = readPredictorConfig({}, { requireBrokers: false });
/** Shorter than the default 10 s so the attack runs through several rounds of reads quickly. */
const READ_TIMEOUT_MS = 2_000;
const CONNECTIONS = 4;
const STREAMS_PER_CONNECTION = 25;
/** HTTP/2 initial stream window (Node's default): what the server buffers of a call waiting for a read slot. */
const STREAM_WINDOW_BYTES = 65_535;
const EXPIRED = { code: 8, details: `request not received within ${READ_TIMEOUT_MS} ms of the server starting to read it` };

/** The ml-predictor container's memory limit in the Kubernetes manifest, in MiB. */
function k8sMemoryLimitMib(): number {
  const manifest = readFileSync(join(__dirname, '../../../../deploy/k8s/base/ml-predictor.yaml'), 'utf8');
  const deployment = parseAllDocuments(manifest).map((d) => d.toJS()).find((d) => d?.kind === 'Deployment');
  const container = deployment.spec.template.spec.containers.find((c: { name: string }) => c.name === 'ml-predictor');
  const limit = /^(\d+)Mi$/.exec(container.resources.limits.memory);
  if (!limit) throw new Error(`ml-predictor memory limit must be <n>Mi, got ${container.resources.limits.memory}`);
  return Number(limit[1]);
}

/** Resident set size of a process in MiB (/proc/<pid>/status VmRSS). */
function rssMib(pid: number): number {
  const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kb / 1024;
}

/**
 * Opens a call to `path` and sends all of a `MESSAGE_BYTES` gRPC message but its last byte, so a
 * server reading it holds what it read and waits for the rest. `written` resolves true once the
 * transport took every byte — past one stream window (64 KiB) only when the server reads the call —
 * or false if the call ended first; `ended` resolves with the call's gRPC status.
 */
function unfinishedCall(session: ClientHttp2Session, path: string, token: string) {
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', authorization: `Bearer ${token}` });
  stream.on('error', () => undefined); // reset when the session is destroyed
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(MESSAGE_BYTES - 5, 1); // uncompressed message of MESSAGE_BYTES - 5 bytes: exactly at the limit with its prefix
  const body = Buffer.alloc(MESSAGE_BYTES - 5 - 1, 0x01);
  const ended = new Promise<{ code: number; details: string }>((resolve) => {
    const done = (headers: Record<string, unknown>) => {
      if (headers['grpc-status'] !== undefined) resolve({ code: Number(headers['grpc-status']), details: decodeURIComponent(String(headers['grpc-message'])) });
    };
    stream.on('response', done); // trailers-only response
    stream.on('trailers', done);
  });
  const written = new Promise<boolean>((resolve) => {
    stream.on('close', () => resolve(false));
    stream.write(prefix);
    stream.write(body, (err) => resolve(!err));
  });
  return { written, ended };
}

describe('ml-predictor under unfinished large gRPC requests', () => {
  const brokers = kafkaBrokers();
  const name = uniqueName('it-inflight');
  const token = 'it-inflight-token-0123456789abcdef';
  let bus: EventBus;
  let predictor: AppProcess;
  let grpcPort: number;
  let client: PredictorClient;

  beforeAll(async () => {
    bus = createTestBus({ brokers, clientId: 'it-inflight' });
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const rows = Array.from({ length: 50 }, (_, i) => ({ a: i % 7, b: i % 5, y: 2 * (i % 7) - (i % 5) }));
    const model = trainModel({ modelName: name, modelType: 'linear_regression', featureKeys: ['a', 'b'], targetKey: 'y', rows, version: 1, trainedAt: '2026-12-07T10:00:00.000Z', params: { testFraction: 0 } });
    await publishModel(bus, { topic: INTERNAL_TOPICS.mlModels, name, version: 1, bytes: encodeModel(model), metadata: {}, publishedAt: '2026-12-07T10:00:00.000Z' });
    const dir = mkdtempSync(join(tmpdir(), 'it-inflight-'));
    writeFileSync(join(dir, 'token'), `${token}\n`, { mode: 0o600 });
    grpcPort = await freePort();
    // The Kubernetes Deployment's memory-relevant settings (deploy/k8s/base/ml-predictor.yaml); the
    // read budget at its defaults but for the read timeout.
    predictor = await spawnApp('ml-predictor', {
      GRPC_PORT: String(grpcPort),
      GRPC_HOST: '127.0.0.1',
      INTERNAL_TOKEN_FILE: join(dir, 'token'),
      GRPC_READ_TIMEOUT_MS: String(READ_TIMEOUT_MS),
      NODE_OPTIONS: '--max-semi-space-size=1',
      MALLOC_ARENA_MAX: '1',
      MALLOC_MMAP_THRESHOLD_: '131072',
    });
    await predictor.ready(90_000);
    // Waits its turn for a read slot during the attack: up to about one read timeout.
    client = createPredictorClient(`127.0.0.1:${grpcPort}`, { defaultTimeoutMs: 3 * READ_TIMEOUT_MS, token });
    await waitFor(() => client.predict({ modelName: name, values: [1, 2], nFeatures: 2 }).then(() => true, () => false), { timeoutMs: 60_000, what: 'model served' });
  });
  afterAll(async () => {
    client?.close();
    await predictor?.kill();
    await bus?.close();
  });

  /**
   * Opens CONNECTIONS connections with STREAMS_PER_CONNECTION unfinished calls to `path` each and
   * keeps them until `rounds` × READS of them have been read whole but for their last byte (each
   * round ends by the read timeout), or all have ended; meanwhile a Predict on another connection.
   * Returns the predictor's peak RSS growth (MiB, sampled every 50 ms), the calls read in the first
   * round, the statuses of the calls that ended, and the version the Predict answered from.
   */
  async function holdUnfinished(path: string, tok: string, rounds: number) {
    const before = rssMib(predictor.pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMib(predictor.pid))), 50);
    // The client's own HTTP/2 session memory (Node's 10 MB default) must hold its queued 4 MiB writes,
    // else it resets its streams itself (ENHANCE_YOUR_CALM) and never sees the server's statuses.
    const sessions = Array.from({ length: CONNECTIONS }, () => connect(`http://127.0.0.1:${grpcPort}`, { maxSessionMemory: 1_000 }));
    for (const s of sessions) s.on('error', () => undefined);
    try {
      const calls = sessions.flatMap((s) => Array.from({ length: STREAMS_PER_CONNECTION }, () => unfinishedCall(s, path, tok)));
      let read = 0;
      const statuses: { code: number; details: string }[] = [];
      for (const c of calls) {
        void c.written.then((ok) => (read += ok ? 1 : 0));
        void c.ended.then((st) => statuses.push(st));
      }
      const allEnded = () => statuses.length === calls.length;
      await waitFor(() => read >= Math.min(READS, calls.length) || allEnded(), { timeoutMs: 30_000, what: 'first round of reads' });
      const firstRound = read;
      const meanwhile = await client.predict({ modelName: name, values: [1, 2], nFeatures: 2 });
      await waitFor(() => read >= rounds * READS || allEnded(), { timeoutMs: 60_000, what: `${rounds} rounds of reads` });
      peak = Math.max(peak, rssMib(predictor.pid));
      return { growthMib: peak - before, peakMib: peak, firstRound, statuses, meanwhile: meanwhile.modelVersion };
    } finally {
      clearInterval(sampler);
      for (const s of sessions) s.destroy();
    }
  }

  /**
   * What unfinished calls may add to RSS: READS messages being read, as much again abandoned by the
   * previous round's expired calls until V8 collects it (their streams are reset, so nothing keeps
   * it), one stream window of each waiting call, and 16 MiB for everything else (HTTP/2 sessions,
   * grpc-js call state, allocator slack). 150 MiB at the defaults.
   */
  const boundMib = (2 * READS * MESSAGE_BYTES + CONNECTIONS * STREAMS_PER_CONNECTION * STREAM_WINDOW_BYTES) / MIB + 16;

  it('refuses callers without the token before reading their requests: 4 × 25 unfinished 4 MiB Predict calls grow RSS by under 16 MiB, and Predict answers meanwhile', async () => {
    const { growthMib, firstRound, statuses, meanwhile } = await holdUnfinished('/ml.v1.PredictorService/Predict', 'not-the-token', 1);
    expect({ firstRound, meanwhile, refused: statuses.filter((s) => s.code === 16).length }).toEqual({ firstRound: 0, meanwhile: 1, refused: CONNECTIONS * STREAMS_PER_CONNECTION });
    expect(growthMib).toBeLessThan(16); // measured 0.4 MiB (2026-12, this machine)
  });

  it(`holds at most GRPC_MAX_CONCURRENT_READS requests of token holders at once: 4 × 25 unfinished 4 MiB Predict calls, read ${READS} at a time, stay under the process bound and the k8s limit, and Predict on another connection answers meanwhile`, async () => {
    const { growthMib, peakMib, firstRound, statuses, meanwhile } = await holdUnfinished('/ml.v1.PredictorService/Predict', token, 4);
    expect({ firstRound, meanwhile }).toEqual({ firstRound: READS, meanwhile: 1 });
    expect(statuses.length).toBeGreaterThanOrEqual(3 * READS); // the first rounds ended by the read timeout
    expect(new Set(statuses.map((s) => JSON.stringify(s)))).toEqual(new Set([JSON.stringify(EXPIRED)]));
    // Without the budget the same load grew RSS by 400 MiB (126 → 526 MiB, past the 512 Mi limit);
    // with it, measured +118 MiB at the peak over 6 rounds (2026-12, this machine).
    expect(growthMib).toBeLessThan(boundMib);
    expect(peakMib).toBeLessThan(k8sMemoryLimitMib());
  });

  it('bounds unauthenticated Health calls (open for probes) the same way: 4 × 25 unfinished 4 MiB Health.Check calls stay under the process bound, and Predict answers meanwhile', async () => {
    const { growthMib, peakMib, firstRound, statuses, meanwhile } = await holdUnfinished('/grpc.health.v1.Health/Check', 'not-the-token', 3);
    expect({ firstRound, meanwhile }).toEqual({ firstRound: READS, meanwhile: 1 });
    expect(statuses.length).toBeGreaterThanOrEqual(2 * READS);
    expect(new Set(statuses.map((s) => JSON.stringify(s)))).toEqual(new Set([JSON.stringify(EXPIRED)]));
    // Without the budget the same load grew RSS by 403 MiB (122 → 525 MiB).
    expect(growthMib).toBeLessThan(boundMib);
    expect(peakMib).toBeLessThan(k8sMemoryLimitMib());
  });
});

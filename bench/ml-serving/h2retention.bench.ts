// How much of each call a transport leaves for the old generation: per call, the bytes V8 promotes out
// of the young generation (they are then freed only by mark-compacts, the pauses that set the serving
// p99; BENCHMARKS.md, sessions 7 and 8). Each pair runs as two processes under --trace-gc-nvp at
// BENCH_RATE calls/s for BENCH_SECONDS, one call per unary exchange, and each process's own trace is summed:
//   node:http2 client → node:http2 server      (what api-gateway → ml-predictor use)
//   node:http2 client → raw-h2 prototype       (server side without node:http2, bench/ml-serving/rawH2Floor.ts)
//   net.Socket client → net.Server             (control: the same exchange without HTTP/2)
// each with a 1 MiB semi-space (the deployed --max-semi-space-size=1) and a 16 MiB one. If the promoted
// bytes per call do not shrink with a 16× larger young generation (16× fewer scavenges), the objects
// are not dying young: something keeps them reachable until an old-generation collection.
//   npm run bench:h2-retention
//   BENCH_RATE=1000 BENCH_SECONDS=10 BENCH_SEMI_SPACES=1,16 npm run bench:h2-retention
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const rate = Number(process.env['BENCH_RATE'] ?? 1000);
const seconds = Number(process.env['BENCH_SECONDS'] ?? 10);
const semiSpaces = (process.env['BENCH_SEMI_SPACES'] ?? '1,16').split(',').map(Number);
const child = join(__dirname, 'h2retention.child.js');
const PORT = 18561;

interface GcSummary {
  scavenges: number;
  markCompacts: number;
  promotedBytes: number;
}

/**
 * Sums a --trace-gc-nvp trace: one line per collection, `gc=s` for scavenges and `gc=mc` for
 * mark-compacts as `key=value` pairs (Node 24), or the same keys as a JSON object (`GC: {"gc":"s",…}`,
 * Node 26), so that the bench can be rerun on a newer Node.
 */
function summarizeNvp(trace: string): GcSummary {
  const out: GcSummary = { scavenges: 0, markCompacts: 0, promotedBytes: 0 };
  for (const line of trace.split('\n')) {
    const kind = /[ {"]gc"?[=:]"?(\w+)/.exec(line)?.[1];
    if (kind === 's') {
      out.scavenges++;
      out.promotedBytes += Number(/[ ,"]promoted"?[=:](\d+)/.exec(line)?.[1] ?? 0);
    } else if (kind === 'mc') out.markCompacts++;
  }
  return out;
}

function run(role: string, semiSpace: number, args: string[]): { proc: ChildProcess; output: Promise<string> } {
  const proc = spawn(process.execPath, [`--max-semi-space-size=${semiSpace}`, '--single-threaded-gc', '--trace-gc-nvp', child, role, String(PORT), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (text += d));
  const output = new Promise<string>((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', () => resolve(text));
  });
  return { proc, output };
}

async function waitForLine(proc: ChildProcess, pattern: RegExp): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer | string) => {
      seen += String(d);
      if (pattern.test(seen)) {
        proc.stdout!.off('data', onData);
        resolve();
      }
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`exited with ${code} before ${pattern}`)));
  });
}

async function pair(serverRole: string, clientRole: string, semiSpace: number) {
  const server = run(serverRole, semiSpace, []);
  await waitForLine(server.proc, /listening/);
  const client = run(clientRole, semiSpace, [String(rate), String(seconds)]);
  const clientTrace = await client.output;
  server.proc.kill('SIGTERM');
  const serverTrace = await server.output;
  const calls = /calls (\d+) failed (\d+)/.exec(clientTrace);
  if (!calls) throw new Error(`${clientRole} did not report its calls:\n${clientTrace.slice(-500)}`);
  return { calls: Number(calls[1]), failed: Number(calls[2]), client: summarizeNvp(clientTrace), server: summarizeNvp(serverTrace) };
}

const PAIRS: Array<[string, string, string]> = [
  ['node:http2 → node:http2', 'server-h2', 'client-h2'],
  ['node:http2 → raw-h2 prototype', 'server-raw-h2', 'client-h2'],
  ['net.Socket → net.Server (control)', 'server-tcp', 'client-tcp'],
];

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${rate} calls/s for ${seconds} s per pair; promoted = bytes V8 moved to the old generation at scavenges`);
  console.log('| pair | semi-space | calls (failed) | client: promoted per call / scavenges / mark-compacts | server: promoted per call / scavenges / mark-compacts |');
  console.log('|---|---|---|---|---|');
  for (const semiSpace of semiSpaces) {
    for (const [label, serverRole, clientRole] of PAIRS) {
      const r = await pair(serverRole, clientRole, semiSpace);
      const side = (g: GcSummary) => `${(g.promotedBytes / r.calls).toFixed(0)} B / ${g.scavenges} / ${g.markCompacts}`;
      console.log(`| ${label} | ${semiSpace} MiB | ${r.calls} (${r.failed}) | ${side(r.client)} | ${side(r.server)} |`);
    }
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

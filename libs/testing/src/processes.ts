import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { kafkaBrokers } from './broker';
import { freePort, httpRequest, waitFor } from './net';

const root = join(__dirname, '../../..');

export interface AppProcess {
  url: string;
  port: number;
  pid: number;
  /** Resolves once GET /readyz answers 200. */
  ready(timeoutMs?: number): Promise<void>;
  /** Sends a signal (SIGTERM: graceful; SIGKILL: crash) and resolves with the exit code. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  metrics(): Promise<string>;
}

/**
 * Starts a built app (dist/apps/<app>/main.js, built by `npm test`) as its own process on the test
 * broker with a free HTTP port. Its stderr goes to the test output; stdout (JSON logs) is dropped
 * unless PIPELINE_TEST_LOGS=1.
 */
export async function spawnApp(app: string, env: Record<string, string> = {}): Promise<AppProcess> {
  const main = join(root, 'dist/apps', app, 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`node scripts/build.mjs ${app}\` (npm test does)`);
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [main], {
    env: { ...process.env, KAFKA_BROKERS: kafkaBrokers().join(','), HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', process.env['PIPELINE_TEST_LOGS'] ? 'inherit' : 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    pid: child.pid!,
    async ready(timeoutMs = 60_000) {
      await waitFor(async () => (await httpRequest(`${url}/readyz`).catch(() => ({ status: 0 }))).status === 200, { timeoutMs, what: `${app} ready` });
    },
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
    async metrics() {
      return (await httpRequest(`${url}/metrics`)).text;
    },
  };
}

/** The value of one Prometheus sample line (first match), or undefined. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    if (Object.entries(labels).every(([k, v]) => rest.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** One thread of a process as Linux reports it (/proc/<pid>/task/<tid>): its id and name. */
export interface ThreadInfo {
  tid: number;
  comm: string;
}

/** The threads of process `pid` with their names (Linux only). */
export function threadsOf(pid: number): ThreadInfo[] {
  const out: ThreadInfo[] = [];
  for (const entry of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${entry}/stat`, 'utf8');
      out.push({ tid: Number(entry), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
    } catch {
      // the thread ended between listing and reading
    }
  }
  return out;
}

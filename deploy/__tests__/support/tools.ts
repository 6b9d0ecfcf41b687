// External tools the deploy tests run for real. .ci/run installs them (Debian packages
// `prometheus` for promtool and `docker-compose`); a missing tool fails the test with this message.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '../../..');

/** Path of `tool` on PATH, or throws naming the Debian package that provides it. */
export function requireTool(tool: string, debianPackage: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || !path) {
    throw new Error(`${tool} is not installed: run \`apt-get install -y ${debianPackage}\` (.ci/run installs it)`);
  }
  return path;
}

/** Runs a command with a 60 s limit and returns its result with output as text. */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, cwd: opts.cwd ?? REPO_ROOT, env: opts.env ?? process.env });
}

/** "cmd args: exit N\nstdout\nstderr", for assertion messages. */
export function describeRun(r: SpawnSyncReturns<string>): string {
  return `exit ${r.status}${r.error ? ` (${r.error.message})` : ''}\n${r.stdout}\n${r.stderr}`;
}

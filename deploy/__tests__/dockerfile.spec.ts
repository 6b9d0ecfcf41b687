// Dockerfile and .dockerignore. No Docker engine here, so the image is not built: the Dockerfile is
// checked instruction by instruction. The image's HEALTHCHECK script runs in healthcheck.int.spec.ts.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './support/tools';

type Instruction = { op: string; args: string };
/** Dockerfile instructions: [global ARGs, then one array per stage] (continuations joined, comments dropped). */
function stages(text: string): Instruction[][] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const result: Instruction[][] = [[]];
  for (const line of lines) {
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (op.toUpperCase() === 'FROM') result.push([]);
    result.at(-1)!.push({ op: op.toUpperCase(), args });
  }
  return result;
}

const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const [global = [], build = [], runtime = []] = stages(dockerfile);
const argsOf = (stage: Instruction[], op: string) => stage.filter((i) => i.op === op).map((i) => i.args);

describe('Dockerfile', () => {
  it('has a build stage and a runtime stage, both on the Node 24 slim image', () => {
    expect(stages(dockerfile)).toHaveLength(3);
    expect(global).toEqual([{ op: 'ARG', args: 'NODE_IMAGE=node:24-slim' }]);
    expect(argsOf(build, 'FROM')).toEqual(['${NODE_IMAGE} AS build']);
    expect(argsOf(runtime, 'FROM')).toEqual(['${NODE_IMAGE} AS runtime']);
  });

  it('builds with npm ci and esbuild for the app named by --build-arg APP, failing without it', () => {
    const runs = argsOf(build, 'RUN');
    expect(argsOf(build, 'ARG')).toContain('APP');
    expect(runs[0]).toContain('test -n "$APP"');
    expect(runs).toContain('npm ci --no-audit --no-fund');
    expect(runs).toContain('node scripts/build.mjs "$APP"');
  });

  it('installs production dependencies only and copies just dist/apps/$APP from the build stage', () => {
    expect(argsOf(runtime, 'RUN')).toContain('npm ci --omit=dev --no-audit --no-fund && npm cache clean --force');
    expect(argsOf(runtime, 'COPY').filter((c) => c.startsWith('--from='))).toEqual(['--from=build /app/dist/apps/${APP} ./dist/apps/${APP}']);
  });

  it('runs as the unprivileged node user, health-checks /healthz with node, and execs node so it gets SIGTERM', () => {
    const ops = runtime.map((i) => i.op);
    expect(ops.indexOf('USER')).toBeLessThan(ops.indexOf('CMD'));
    expect(argsOf(runtime, 'USER')).toEqual(['node']);
    expect(argsOf(runtime, 'HEALTHCHECK')).toEqual([expect.stringMatching(/ CMD \["node", "healthcheck\.cjs"\]$/)]);
    const cmd = JSON.parse(argsOf(runtime, 'CMD')[0]!) as string[];
    expect(cmd).toEqual(['/bin/sh', '-c', 'exec node "dist/apps/$APP/main.js"']);
  });

  it('copies only files that exist and that .dockerignore lets into the build context', () => {
    const ignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    // Docker semantics for the patterns used here: last matching line wins, `!` re-includes,
    // `**/x` matches x at any depth, a directory pattern covers everything below it.
    const ignored = (path: string) => {
      let result = false;
      for (const line of ignore) {
        const negate = line.startsWith('!');
        const pattern = negate ? line.slice(1) : line;
        const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '\0').replace(/\*/g, '[^/]*').replace(/\0/g, '(.*/)?')}(/.*)?$`);
        if (re.test(path)) result = !negate;
      }
      return result;
    };
    const sources = [...build, ...runtime]
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from='))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(5);
    expect(sources.filter((s) => !existsSync(join(REPO_ROOT, s)) || ignored(s))).toEqual([]);
    expect(['node_modules', 'apps/ingest/node_modules', '.git', '.env', 'dist', 'deploy/k8s/base'].filter((p) => !ignored(p))).toEqual([]);
    expect(ignored('.env.example')).toBe(false);
  });
});

// Runs one TypeScript entry file (a benchmark or a tool) on the project's Node: bundles it with
// esbuild (resolving the @pipeline/* aliases) into a temp file, then executes it with the same argv.
//   node scripts/run-ts.mjs bench/aggregation.bench.ts [args...]
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

const [entry, ...args] = process.argv.slice(2);
if (!entry) { console.error('usage: node scripts/run-ts.mjs <file.ts> [args...]'); process.exit(2); }
const root = new URL('..', import.meta.url).pathname;
const outdir = mkdtempSync(join(tmpdir(), 'run-ts-'));
const srcDir = resolve(entry, '..');
const { readdirSync } = await import('node:fs');
// Worker-thread and child-process entries beside the bench are bundled next to it.
const workers = readdirSync(srcDir).filter((f) => /\.(worker|child)\.ts$/.test(f)).map((f) => join(srcDir, f));
await build({
  entryPoints: [resolve(entry), ...workers], outdir, bundle: true, platform: 'node', target: 'node24', format: 'cjs',
  sourcemap: 'inline', packages: 'external', tsconfig: join(root, 'tsconfig.base.json'), logLevel: 'warning',
  nodePaths: [join(root, 'node_modules')],
});
const out = join(outdir, basename(entry).replace(/\.ts$/, '.js'));
const r = spawnSync(process.execPath, ['--enable-source-maps', '--expose-gc', out, ...args], { stdio: 'inherit', env: { ...process.env, NODE_PATH: join(root, 'node_modules') } });
process.exit(r.status ?? 1);

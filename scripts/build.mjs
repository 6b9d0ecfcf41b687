// Bundles each app (and each worker entry) with esbuild into dist/apps/<app>/.
// Path aliases come from tsconfig.base.json; node_modules stay external so the production
// image installs them with `npm ci --omit=dev`.
//   node scripts/build.mjs            build every app
//   node scripts/build.mjs ingest     build one app
import { build } from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2);
const apps = readdirSync(join(root, 'apps')).filter((a) => existsSync(join(root, 'apps', a, 'src', 'main.ts')));
const selected = only.length ? apps.filter((a) => only.includes(a)) : apps;

await Promise.all(
  selected.map((app) => {
    const srcDir = join(root, 'apps', app, 'src');
    // Every *.worker.ts is its own entry point: worker_threads load it by file name.
    const entryPoints = [join(srcDir, 'main.ts'), ...readdirSync(srcDir).filter((f) => f.endsWith('.worker.ts')).map((f) => join(srcDir, f))];
    return build({
      entryPoints,
      outdir: join(root, 'dist', 'apps', app),
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'cjs',
      sourcemap: true,
      packages: 'external',
      tsconfig: join(root, 'tsconfig.base.json'),
      logLevel: 'warning',
    });
  }),
);

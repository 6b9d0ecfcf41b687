import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '../../..');

/**
 * Source for `new Worker(source, { eval: true })` that runs the TypeScript worker entry `entry`
 * (an absolute path) straight from the repository, in this process: module hooks in the worker map
 * the `@pipeline/*` aliases of tsconfig.base.json onto their sources and compile each `.ts` file to
 * CommonJS with @swc/core (the same compiler Jest uses), so a unit test runs a worker's real code
 * without bundling it first (`scripts/build.mjs`) or starting a compiler process.
 *
 * `workerData` and every other Worker option pass through as usual.
 */
export function tsWorkerSource(entry: string): string {
  const base = JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8')) as { compilerOptions: { paths: Record<string, [string]> } };
  const aliases = Object.fromEntries(Object.entries(base.compilerOptions.paths).map(([alias, [target]]) => [alias, join(root, target)]));
  return `
    const { registerHooks } = require('node:module');
    const { existsSync, readFileSync } = require('node:fs');
    const { fileURLToPath, pathToFileURL } = require('node:url');
    const { dirname, resolve } = require('node:path');
    const { transformSync } = require(${JSON.stringify(require.resolve('@swc/core'))});
    const aliases = ${JSON.stringify(aliases)};
    registerHooks({
      resolve(specifier, context, next) {
        const alias = aliases[specifier];
        if (alias) return { url: pathToFileURL(alias).href, shortCircuit: true };
        // Relative imports in the sources name no extension.
        if (specifier.startsWith('.') && context.parentURL && context.parentURL.endsWith('.ts')) {
          const base = resolve(dirname(fileURLToPath(context.parentURL)), specifier);
          for (const file of [base + '.ts', base + '/index.ts']) {
            if (existsSync(file)) return { url: pathToFileURL(file).href, shortCircuit: true };
          }
        }
        return next(specifier, context);
      },
      load(url, context, next) {
        if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
        const filename = fileURLToPath(url);
        const { code } = transformSync(readFileSync(filename, 'utf8'), {
          filename,
          module: { type: 'commonjs' },
          jsc: { target: 'es2023', parser: { syntax: 'typescript' } },
        });
        return { format: 'commonjs', source: code, shortCircuit: true };
      },
    });
    require(${JSON.stringify(entry)});
  `;
}

// Module boundaries, as Nx's enforce-module-boundaries rule would check them (tags in each
// project.json): an algo lib never imports an adapter, contracts import only contracts, libs never
// reach into apps, imports go through a lib's public index (no deep `@pipeline/x/src/...` paths),
// and public index files use named exports (no `export *`). Test files are exempt from the tag
// rules (they may use the testing lib and adapters).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = join(__dirname, '..');
const ALLOWED: Record<string, string[]> = {
  'type:contracts': ['type:contracts'],
  'type:algo': ['type:algo', 'type:contracts'],
  'type:adapter': ['type:adapter', 'type:algo', 'type:contracts'],
  'type:testing': ['type:testing', 'type:adapter', 'type:algo', 'type:contracts', 'type:app'],
  'type:app': ['type:adapter', 'type:algo', 'type:contracts'],
};

interface Project {
  name: string;
  dir: string;
  tag: string;
}

const projects: Project[] = ['apps', 'libs'].flatMap((kind) =>
  readdirSync(join(root, kind)).map((name) => {
    const pj = JSON.parse(readFileSync(join(root, kind, name, 'project.json'), 'utf8')) as { tags: string[] };
    return { name, dir: join(root, kind, name), tag: pj.tags.find((t) => t.startsWith('type:'))! };
  }),
);
const aliases = JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8')).compilerOptions.paths as Record<string, string[]>;
const projectOfAlias = (alias: string) => projects.find((p) => resolve(root, aliases[alias]![0]!).startsWith(p.dir + '/'));
const projectOfFile = (file: string) => projects.find((p) => file.startsWith(p.dir + '/'));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const full = join(dir, f);
    if (statSync(full).isDirectory()) return f === 'gen' || f === 'node_modules' ? [] : files(full);
    return f.endsWith('.ts') ? [full] : [];
  });
}

const isTest = (file: string) => /\.(spec|int\.spec)\.ts$/.test(file) || file.includes('/__tests__/');
const importsOf = (file: string) => [...readFileSync(file, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'([^']+)'/g)].map((m) => m[1]!);

describe('module boundaries', () => {
  const violations: string[] = [];
  for (const p of projects) {
    for (const file of files(join(p.dir, 'src'))) {
      const rel = relative(root, file);
      for (const spec of importsOf(file)) {
        let target: Project | undefined;
        if (spec.startsWith('@pipeline/')) {
          const alias = spec.split('/').slice(0, 2).join('/');
          if (spec !== alias) violations.push(`${rel}: deep import "${spec}" (use "${alias}")`);
          target = projectOfAlias(alias);
          if (!target) violations.push(`${rel}: unknown alias "${spec}"`);
        } else if (spec.startsWith('.')) {
          target = projectOfFile(resolve(dirname(file), spec));
          if (target && target !== p && target.tag !== 'type:app') violations.push(`${rel}: relative import "${spec}" into lib ${target.name} (use its @pipeline alias)`);
        }
        if (!target || target === p) continue;
        // The embedded app composes the other apps in one process; no other app imports an app.
        if (target.tag === 'type:app' && !(p.name === 'embedded' || (isTest(file) && p.tag === 'type:app'))) violations.push(`${rel}: imports app ${target.name}`);
        if (isTest(file) || target.tag === 'type:app') continue;
        if (!ALLOWED[p.tag]!.includes(target.tag)) violations.push(`${rel}: ${p.tag} may not import ${target.name} (${target.tag})`);
      }
    }
  }

  it('keeps every import inside the allowed tag constraints and public entry points', () => {
    expect(violations).toEqual([]);
  });

  it('gives every lib one public index.ts with named exports only', () => {
    const bad = projects
      .filter((p) => p.tag !== 'type:app')
      .map((p) => join(p.dir, 'src', 'index.ts'))
      .filter((f) => /export \* from/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(root, f));
    expect(bad).toEqual([]);
  });
});

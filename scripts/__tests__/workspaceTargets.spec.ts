// `npm test` runs tests only through each project's Nx targets (`test` for *.spec.ts, `int-test` for
// *.int.spec.ts), so a test file outside every project, or an integration test in a project without an
// `int-test` target, would silently never run. This keeps the two in step.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(__dirname, '..', '..');
const projectDirs = [...['apps', 'libs'].flatMap((d) => readdirSync(join(root, d)).map((p) => join(d, p))), 'deploy', 'bench', 'scripts'];
const projects = projectDirs
  .filter((d) => existsSync(join(root, d, 'project.json')))
  .map((dir) => ({ dir, targets: Object.keys((JSON.parse(readFileSync(join(root, dir, 'project.json'), 'utf8')) as { targets: Record<string, unknown> }).targets) }));

function specFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const full = join(dir, f);
    if (f === 'node_modules' || f === 'dist' || f === 'tmp' || f.startsWith('.')) return [];
    if (statSync(full).isDirectory()) return specFiles(full);
    return f.endsWith('.spec.ts') ? [relative(root, full)] : [];
  });
}

describe('workspace test targets', () => {
  const specs = specFiles(root);

  it('finds the test files it checks', () => {
    expect(specs).toContain('scripts/__tests__/workspaceTargets.spec.ts');
    expect(specs.filter((s) => s.endsWith('.int.spec.ts')).length).toBeGreaterThan(0);
  });

  it('puts every test file in a project with a `test` target', () => {
    const orphans = specs.filter((s) => !projects.some((p) => s.startsWith(p.dir + '/') && p.targets.includes('test')));
    expect(orphans).toEqual([]);
  });

  it('gives every project with an integration test an `int-test` target', () => {
    const missing = specs
      .filter((s) => s.endsWith('.int.spec.ts'))
      .filter((s) => !projects.some((p) => s.startsWith(p.dir + '/') && p.targets.includes('int-test')));
    expect(missing).toEqual([]);
  });
});

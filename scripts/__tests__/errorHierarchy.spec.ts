// One error hierarchy (CONVENTIONS.md "Errors"): every error class in apps/ and libs/ descends from
// PipelineError (libs/contracts/src/errors.ts), which alone extends a built-in error class. This
// scans the non-test sources, so a new root fails here rather than in a review.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(__dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const full = join(dir, f);
    if (['node_modules', 'dist', 'gen', '__tests__'].includes(f) || f.startsWith('.')) return [];
    if (statSync(full).isDirectory()) return sources(full);
    return f.endsWith('.ts') && !f.endsWith('.spec.ts') ? [full] : [];
  });
}

/** `file: class Name extends Base` for every class that extends a built-in error class. */
function builtInErrorRoots(): string[] {
  const builtIn = /\bclass\s+(\w+)\s+extends\s+((?:Type|Range|Syntax|URI|Eval|Reference|Aggregate)?Error)\b/g;
  return ['apps', 'libs'].flatMap((d) => sources(join(root, d))).flatMap((file) => [...readFileSync(file, 'utf8').matchAll(builtIn)].map((m) => `${relative(root, file)}: class ${m[1]} extends ${m[2]}`));
}

describe('the error hierarchy', () => {
  it('has one root: only PipelineError extends a built-in error class in apps/ and libs/', () => {
    expect(builtInErrorRoots()).toEqual(['libs/contracts/src/errors.ts: class PipelineError extends Error']);
  });
});

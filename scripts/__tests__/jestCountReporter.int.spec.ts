// The closing `N passed, N failed` line of `npm test`, end to end: a real Jest run (a child process of
// the same Node) of a suite whose failing test throws an error with a circular structure — what made
// Jest's own --json output crash — reported through scripts/jestCountReporter.js.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

describe('jestCountReporter in a real Jest run', () => {
  it('writes the right counts from a real Jest run of a suite whose failing test has a circular error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'count-reporter-'));
    try {
      const countFile = join(dir, 'counts.json');
      const config = { rootDir: join(root, 'scripts', '__fixtures__'), testMatch: ['**/circularFailure.fixture.js'], testEnvironment: 'node' };
      const r = spawnSync(
        process.execPath,
        [join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '--config', JSON.stringify(config), '--reporters', join(root, 'scripts', 'jestCountReporter.js'), '--json', `--outputFile=${join(dir, 'jest.json')}`],
        { cwd: root, env: { ...process.env, JEST_COUNT_FILE: countFile }, encoding: 'utf8' },
      );
      expect(r.status).toBe(1);
      expect(JSON.parse(readFileSync(countFile, 'utf8'))).toEqual({
        passed: 1,
        failed: 1,
        skipped: 0,
        failedTests: ['scripts/__fixtures__/circularFailure.fixture.js: fails with a circular error'],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

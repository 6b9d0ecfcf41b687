// One project's tests in one tier — the command behind the Nx targets `test` (unit) and `int-test`
// (integration):  node scripts/jest-tier.mjs <unit|integration> <projectName> <projectRoot> [jest args]
// Runs Jest on the project's folder only and leaves its counts in tmp/test-results/<project>-<tier>.json
// (the `test` target's cached output). If Jest dies before reporting, that file says so as one failure,
// so the closing line of `npm test` can never count a crashed run as passed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const [tier, project, projectRoot, ...jestArgs] = process.argv.slice(2);
if (!['unit', 'integration'].includes(tier) || !project || !projectRoot) {
  console.error('usage: node scripts/jest-tier.mjs <unit|integration> <projectName> <projectRoot> [jest args]');
  process.exit(2);
}
const countFile = join(root, 'tmp', 'test-results', `${project}-${tier === 'unit' ? 'unit' : 'int'}.json`);
rmSync(countFile, { force: true });
const escaped = join(root, projectRoot, '/').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const r = spawnSync(
  process.execPath,
  [
    join(root, 'node_modules', 'jest', 'bin', 'jest.js'),
    '--selectProjects', tier,
    '--passWithNoTests',
    // Nx runs two projects at a time on these 2-core machines; each Jest uses one worker.
    '--maxWorkers=1',
    '--reporters=default',
    `--reporters=${join(root, 'scripts', 'jestCountReporter.js')}`,
    `--testPathPatterns=^${escaped}`,
    ...jestArgs,
  ],
  { stdio: 'inherit', cwd: root, env: { ...process.env, JEST_COUNT_FILE: countFile } },
);
const status = r.status ?? 1;
if (!existsSync(countFile)) {
  mkdirSync(dirname(countFile), { recursive: true });
  const why = r.error ? r.error.message : `jest exited with ${r.signal ?? status} before reporting`;
  writeFileSync(countFile, JSON.stringify({ passed: 0, failed: 1, skipped: 0, failedTests: [`${project} (${tier}): ${why}`] }) + '\n');
}
process.exit(status === 0 ? 0 : 1);

// The closing `N passed, N failed` line of `npm test` comes from these counts: they must be right
// whatever a failing test throws.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { countResults } = require('../jestCountReporter.js') as { countResults: (r: unknown) => { passed: number; failed: number; skipped: number; failedTests: string[] } };
const { summarize } = require('../testSummary.js') as { summarize: (dir: string, expected: string[], other?: string[]) => { passed: number; failed: number; failures: string[] } };

const root = join(__dirname, '..', '..');

describe('jestCountReporter', () => {
  it('counts a run whose failing test threw an error with a circular structure', () => {
    const err: Record<string, unknown> = { message: 'boom' };
    err.error = err;
    const results = {
      numPassedTests: 3,
      numFailedTests: 1,
      numPendingTests: 1,
      numTodoTests: 0,
      numRuntimeErrorTestSuites: 1,
      testResults: [
        { testFilePath: join(root, 'a.spec.ts'), numFailingTests: 1, failureMessage: 'x', testResults: [{ status: 'failed', fullName: 'a fails', failureDetails: [err] }, { status: 'passed', fullName: 'a passes' }] },
        { testFilePath: join(root, 'b.spec.ts'), numFailingTests: 0, testExecError: err, testResults: [] },
      ],
    };
    expect(() => JSON.stringify(results)).toThrow(/circular/);
    const counts = countResults(results);
    expect(counts).toEqual({ passed: 3, failed: 2, skipped: 1, failedTests: ['a.spec.ts: a fails', 'b.spec.ts: the suite failed to run'] });
    expect(JSON.parse(JSON.stringify(counts))).toEqual(counts);
  });
});

describe('summarize', () => {
  it('adds up the projects, and counts a missing or unreadable result and every other failure as one failure each', () => {
    const dir = mkdtempSync(join(tmpdir(), 'test-summary-'));
    try {
      writeFileSync(join(dir, 'a-unit.json'), JSON.stringify({ passed: 5, failed: 0, skipped: 0, failedTests: [] }));
      writeFileSync(join(dir, 'b-int.json'), JSON.stringify({ passed: 2, failed: 1, skipped: 0, failedTests: ['b.int.spec.ts: b fails'] }));
      writeFileSync(join(dir, 'c-unit.json'), '{ not json');
      expect(summarize(dir, ['a-unit', 'b-int', 'c-unit', 'd-unit'], ['lint failed'])).toEqual({
        passed: 7,
        failed: 4,
        failures: ['lint failed', 'b.int.spec.ts: b fails', 'c-unit: no test results (its task did not run or crashed before reporting)', 'd-unit: no test results (its task did not run or crashed before reporting)'],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Jest reporter that writes the run's counts to the file named by JEST_COUNT_FILE, for the closing
// `N passed, N failed` line of `npm test` (scripts/test.mjs adds up one file per project and tier).
// It copies only numbers and test names into a fresh object, so nothing a test throws (an error with
// a circular structure, a BigInt, a huge object) can make writing the file fail — which is how
// Jest's own `--json` output broke the closing line before.
const { mkdirSync, writeFileSync } = require('node:fs');
const { dirname, relative } = require('node:path');

/** The counts of one Jest run, from Jest's aggregated results. */
function countResults(results) {
  const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const failedTests = [];
  for (const suite of results.testResults ?? []) {
    if (suite.testExecError || suite.failureMessage && num(suite.numFailingTests) === 0) {
      failedTests.push(`${relative(process.cwd(), String(suite.testFilePath))}: the suite failed to run`);
    }
    for (const t of suite.testResults ?? []) {
      if (t.status === 'failed') failedTests.push(`${relative(process.cwd(), String(suite.testFilePath))}: ${String(t.fullName)}`);
    }
  }
  return {
    passed: num(results.numPassedTests),
    // A suite that fails outside any test (a syntax error, a throwing beforeAll) has no failed test
    // of its own but is a failure all the same.
    failed: num(results.numFailedTests) + num(results.numRuntimeErrorTestSuites),
    skipped: num(results.numPendingTests) + num(results.numTodoTests),
    failedTests,
  };
}

class JestCountReporter {
  onRunComplete(_contexts, results) {
    const file = process.env.JEST_COUNT_FILE;
    if (!file) return;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(countResults(results)) + '\n');
  }
}

module.exports = JestCountReporter;
module.exports.countResults = countResults;

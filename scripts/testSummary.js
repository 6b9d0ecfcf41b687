// Adds up the per-project Jest counts that scripts/jestCountReporter.js leaves in tmp/test-results
// (one `<project>-unit.json` / `<project>-int.json` per Nx task) into the closing line of `npm test`.
// A task whose file is missing or unreadable counts as one failure: a run that could not report is
// never read as a pass.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

/**
 * @param {string} dir             the results folder
 * @param {string[]} expected      result names that must be there (`aggregator-unit`, `ingest-int`, …)
 * @param {string[]} otherFailures failures that are not Jest tests (a lint task, the broker)
 * @returns {{ passed: number, failed: number, failures: string[] }}
 */
function summarize(dir, expected, otherFailures = []) {
  let passed = 0;
  let failed = otherFailures.length;
  const failures = [...otherFailures];
  for (const name of expected) {
    let counts;
    try {
      counts = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
    } catch {
      failed += 1;
      failures.push(`${name}: no test results (its task did not run or crashed before reporting)`);
      continue;
    }
    passed += Number(counts.passed) || 0;
    failed += Number(counts.failed) || 0;
    for (const t of Array.isArray(counts.failedTests) ? counts.failedTests : []) failures.push(String(t));
  }
  return { passed, failed, failures };
}

module.exports = { summarize };

// `npm test`: the whole suite — unit tests and integration tests on a real Kafka broker.
// Starts the local broker (scripts/kafka.sh) unless KAFKA_BROKERS points at one, builds the apps
// (integration tests spawn them as processes), runs Jest, and ends with one plain line
// `N passed, N failed` (CI reads that line, not Jest's summary).
//   npm test                  everything
//   npm test -- --unit-only   no broker needed
//   npm test -- --int-only    integration tier only
//   extra args go to Jest, e.g. npm test -- -t 'dead-letter'
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit-only');
const intOnly = args.includes('--int-only');
const jestArgs = args.filter((a) => a !== '--unit-only' && a !== '--int-only');
const env = { ...process.env };

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', cwd: root, env, ...opts });
  return r.status ?? 1;
}

// Without KAFKA_BROKERS the suite gets its own fresh broker (port 19092, data wiped first), so
// results never depend on what earlier runs or benchmarks left on a broker.
let ownBroker = false;
const testBrokerEnv = { ...env, KAFKA_PORT: '19092', KAFKA_DATA: '/tmp/event-pipeline-kafka-test' };
if (!unitOnly) {
  if (!env.KAFKA_BROKERS) {
    run('bash', ['scripts/kafka.sh', 'wipe'], { env: testBrokerEnv });
    ownBroker = true;
    if (run('bash', ['scripts/kafka.sh', 'start'], { env: testBrokerEnv }) !== 0) {
      console.error('could not start the local Kafka broker (see above); set KAFKA_BROKERS to use another one');
      console.log('0 passed, 1 failed');
      process.exit(1);
    }
    env.KAFKA_BROKERS = '127.0.0.1:19092';
  }
  console.log(`[test] integration tests use Kafka at ${env.KAFKA_BROKERS}`);
  if (run(process.execPath, ['scripts/build.mjs']) !== 0) {
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

mkdirSync(join(root, 'tmp'), { recursive: true });
const out = join(root, 'tmp', 'jest-results.json');
rmSync(out, { force: true });
const projects = unitOnly ? ['--selectProjects', 'unit'] : intOnly ? ['--selectProjects', 'integration'] : [];
const status = run(join(root, 'node_modules', '.bin', 'jest'), [...projects, '--maxWorkers=2', '--forceExit', '--json', `--outputFile=${out}`, ...jestArgs]);
let passed = 0;
let failed = 0;
try {
  const results = JSON.parse(readFileSync(out, 'utf8'));
  passed = results.numPassedTests;
  failed = results.numFailedTests + (results.numRuntimeErrorTestSuites ?? 0);
} catch {
  failed = Math.max(1, failed);
}
if (ownBroker) run('bash', ['scripts/kafka.sh', 'stop'], { env: testBrokerEnv });
console.log(`${passed} passed, ${failed} failed`);
process.exit(status === 0 && failed === 0 ? 0 : 1);

// `npm test`: every check and every test, through Nx targets, ending with one plain line
// `N passed, N failed` (CI reads that line).
//   1. the tools the integration tier drives (kcat, promtool, docker-compose, openssl; Java + Maven
//      for the broker): installed with apt-get when missing and running as root, else one message naming the
//      command to run, within the first seconds;
//   2. `nx run-many -t build,typecheck,lint` then `-t test` — apps built, every project type-checked,
//      linted and unit-tested (cached: unchanged projects are not run again);
//   3. a fresh local Kafka broker (unless KAFKA_BROKERS points at one) and
//      `nx run-many -t int-test` — the integration tier on that broker.
// Options:
//   npm test -- --unit-only      steps 2 only (no broker, no tools)
//   npm test -- --int-only       steps 1 and 3 (apps are still built)
//   extra args go to Jest, e.g. npm test -- -t 'dead-letter'
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { summarize } = require('./testSummary.js');
const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit-only');
const intOnly = args.includes('--int-only');
const jestArgs = args.filter((a) => a !== '--unit-only' && a !== '--int-only');
// Nx without its daemon or terminal UI: plain output, nothing left running after the tests.
const env = { ...process.env, NX_DAEMON: 'false', NX_TUI: 'false', NX_NO_CLOUD: 'true' };
const resultsDir = join(root, 'tmp', 'test-results');
const extraFailures = [];

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', cwd: root, env, ...opts });
  return r.status ?? 1;
}
function finish() {
  const { passed, failed, failures } = summarize(resultsDir, expected, extraFailures);
  if (failures.length) {
    console.log('\nFailed:');
    for (const f of failures.slice(0, 50)) console.log(`  ${f}`);
    if (failures.length > 50) console.log(`  … and ${failures.length - 50} more`);
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}
const nx = (targets, passArgs = []) =>
  run(process.execPath, [join(root, 'node_modules', '.bin', 'nx'), 'run-many', '-t', targets.join(','), '--parallel=2', '--outputStyle=static', ...(passArgs.length ? ['--', ...passArgs] : [])]);
const projectsWith = (target) => {
  const r = spawnSync(process.execPath, [join(root, 'node_modules', '.bin', 'nx'), 'show', 'projects', '--with-target', target, '--json'], { cwd: root, env, encoding: 'utf8' });
  return r.status === 0 ? JSON.parse(r.stdout) : [];
};

/** Missing tools: apt packages to install, by the command that needs them. */
function missingTools() {
  const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
  const need = [
    ['kcat', 'kcat'], // an independent Kafka client: ingest's interop test
    ['promtool', 'prometheus'], // Prometheus config/rules/metrics checks and a real Prometheus scrape
    ['docker-compose', 'docker-compose'], // `docker-compose config` validates docker-compose.yml without an engine
    ['java', 'openjdk-17-jre-headless'], // the Kafka broker
    ['mvn', 'maven'], // fetches the broker's jars from Maven Central
    ['openssl', 'openssl'], // scripts/make-secrets.sh, run by its test
  ];
  return need.filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg);
}

if (!unitOnly) {
  const missing = missingTools();
  if (missing.length) {
    const cmd = `apt-get update && apt-get install -y ${missing.join(' ')}`;
    if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
      console.log(`[test] installing what the integration tests drive: ${missing.join(' ')} (${cmd})`);
      const ok =
        run('apt-get', ['update', '-qq']) === 0 &&
        run('apt-get', ['install', '-y', '-qq', ...missing], { env: { ...env, DEBIAN_FRONTEND: 'noninteractive' }, stdio: ['ignore', 'ignore', 'inherit'] }) === 0;
      if (!ok || missingTools().length) {
        console.error(`[test] could not install ${missing.join(' ')}; run: ${cmd}`);
        console.log('0 passed, 1 failed');
        process.exit(1);
      }
    } else {
      console.error(`[test] the integration tests need ${missing.join(', ')}; run: sudo ${cmd}   (or: npm test -- --unit-only)`);
      console.log('0 passed, 1 failed');
      process.exit(1);
    }
  }
}

rmSync(resultsDir, { recursive: true, force: true });
mkdirSync(resultsDir, { recursive: true });
const expected = [];
const checks = intOnly ? ['build'] : unitOnly ? ['typecheck', 'lint'] : ['build', 'typecheck', 'lint'];
if (nx(checks) !== 0) extraFailures.push(`nx run-many -t ${checks.join(',')}: a task failed (see its output above)`);
if (!intOnly) {
  expected.push(...projectsWith('test').map((p) => `${p}-unit`));
  nx(['test'], jestArgs);
}

if (!unitOnly) {
  // Without KAFKA_BROKERS the suite gets its own fresh broker (port 19092, data wiped first), so
  // results never depend on what earlier runs or benchmarks left on a broker.
  let ownBroker = false;
  const brokerEnv = { ...env, KAFKA_PORT: '19092', KAFKA_DATA: '/tmp/event-pipeline-kafka-test' };
  if (!env.KAFKA_BROKERS) {
    run('bash', ['scripts/kafka.sh', 'wipe'], { env: brokerEnv });
    ownBroker = true;
    if (run('bash', ['scripts/kafka.sh', 'start'], { env: brokerEnv }) !== 0) {
      extraFailures.push('could not start the local Kafka broker (see above); set KAFKA_BROKERS to use another one');
      finish();
    }
    env.KAFKA_BROKERS = '127.0.0.1:19092';
  }
  console.log(`[test] integration tests use Kafka at ${env.KAFKA_BROKERS}`);
  expected.push(...projectsWith('int-test').map((p) => `${p}-int`));
  nx(['int-test'], jestArgs);
  if (ownBroker) run('bash', ['scripts/kafka.sh', 'stop'], { env: brokerEnv });
}
// Result files without a project (none expected) would mean a stale target name: count them too.
for (const f of readdirSync(resultsDir)) if (!expected.includes(f.replace(/\.json$/, ''))) expected.push(f.replace(/\.json$/, ''));
finish();

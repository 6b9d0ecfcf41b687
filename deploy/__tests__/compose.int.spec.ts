// docker-compose.yml: validated by docker-compose itself (`config` needs no Docker engine), then
// its resolved form is checked against the service contract (ports, env, health, dependencies).
// Integration tier: every case reads what the docker-compose binary resolves (no broker needed).
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describeRun, REPO_ROOT, requireTool, run } from './support/tools';

const SERVICES: Record<string, number> = { 'api-gateway': 8080, ingest: 8081, aggregator: 8082, 'ml-trainer': 8083, 'ml-predictor': 8084, 'batch-processor': 8085 };
type ComposeService = {
  image?: string;
  build?: { context: string; args?: Record<string, string> };
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  init?: boolean;
  ports?: string[];
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  mem_limit?: string;
  cpus?: number;
  secrets?: { source: string }[];
};
type Compose = { services: Record<string, ComposeService>; volumes: Record<string, unknown>; secrets: Record<string, { file: string }> };

/** docker-compose v1 prints volumes as "source:target:mode"; returns [source, target]. */
const mounts = (s: ComposeService) => (s.volumes ?? []).map((v) => v.split(':').slice(0, 2) as [string, string]);

/**
 * docker-compose config in a temp copy of the compose file, optionally with .env from .env.example
 * (`edit` rewrites its text first); `extraEnv` is the shell environment on top. Returns the run and
 * the temp directory (relative paths in the file resolve against it).
 */
function composeConfig(withEnv: boolean, opts: { edit?: (envText: string) => string; extraEnv?: Record<string, string> } = {}) {
  const compose = requireTool('docker-compose', 'docker-compose');
  const dir = mkdtempSync(join(tmpdir(), 'compose-'));
  copyFileSync(join(REPO_ROOT, 'docker-compose.yml'), join(dir, 'docker-compose.yml'));
  if (withEnv) writeFileSync(join(dir, '.env'), (opts.edit ?? ((t) => t))(readFileSync(join(REPO_ROOT, '.env.example'), 'utf8')));
  const env = { ...process.env };
  for (const k of ['API_KEYS', 'KAFKA_TOPIC_PARTITIONS', 'LOG_LEVEL', 'GRAFANA_ADMIN_PASSWORD', 'GATEWAY_BIND', 'GRAFANA_BIND', 'GATEWAY_HOST_PORT', 'GRAFANA_HOST_PORT', 'KAFKA_HOST_PORT', 'INTERNAL_TOKEN_PATH', 'ML_SIGNING_KEY_PATH', 'ML_VERIFY_KEYS_PATH']) delete env[k];
  const r = run(compose, ['-f', 'docker-compose.yml', 'config'], { cwd: dir, env: { ...env, ...opts.extraEnv } });
  return Object.assign(r, { dir });
}
const resolved = (r: ReturnType<typeof composeConfig>): Compose => {
  if (r.status !== 0) throw new Error(`docker-compose config failed: ${describeRun(r)}`);
  return parse(r.stdout) as Compose;
};

describe('docker-compose.yml', () => {
  let config: Compose;
  let configDir: string;
  beforeAll(() => {
    const r = composeConfig(true);
    if (r.status !== 0) throw new Error(`docker-compose config failed: ${describeRun(r)}`);
    config = parse(r.stdout) as Compose;
    configDir = r.dir;
  });

  it('refuses to start without API_KEYS, naming .env.example', () => {
    const r = composeConfig(false);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('API_KEYS is not set; copy .env.example to .env and set it');
  });

  it('refuses to start without GRAFANA_ADMIN_PASSWORD, or with it empty: Grafana has no fallback password', () => {
    for (const edit of [(t: string) => t.replace(/^GRAFANA_ADMIN_PASSWORD=.*$/m, ''), (t: string) => t.replace(/^GRAFANA_ADMIN_PASSWORD=.*$/m, 'GRAFANA_ADMIN_PASSWORD=')]) {
      const r = composeConfig(true, { edit });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('GRAFANA_ADMIN_PASSWORD is not set; copy .env.example to .env and set it');
    }
  });

  it('publishes the gateway and Grafana on 127.0.0.1 and Kafka’s host listener on 127.0.0.1, and nothing else', () => {
    const published = Object.fromEntries(Object.entries(config.services).filter(([, s]) => s.ports?.length).map(([name, s]) => [name, s.ports]));
    expect(published).toEqual({ 'api-gateway': ['127.0.0.1:8080:8080/tcp'], grafana: ['127.0.0.1:3000:3000/tcp'], kafka: ['127.0.0.1:29092:29092/tcp'] });
  });

  it('publishes the gateway and Grafana on every interface only when GATEWAY_BIND/GRAFANA_BIND say so; Kafka stays on loopback', () => {
    const wide = resolved(composeConfig(true, { extraEnv: { GATEWAY_BIND: '0.0.0.0', GRAFANA_BIND: '0.0.0.0' } }));
    expect([wide.services['api-gateway']!.ports, wide.services.grafana!.ports, wide.services.kafka!.ports]).toEqual([['0.0.0.0:8080:8080/tcp'], ['0.0.0.0:3000:3000/tcp'], ['127.0.0.1:29092:29092/tcp']]);
  });

  it('resolves every container with dropped capabilities, no-new-privileges and memory/CPU limits, and all but Kafka read-only', () => {
    for (const [name, s] of Object.entries(config.services)) {
      expect({ name, cap_drop: s.cap_drop, security_opt: s.security_opt, read_only: s.read_only ?? false, limited: Boolean(s.mem_limit && s.cpus) }).toEqual({
        name,
        cap_drop: ['ALL'],
        security_opt: ['no-new-privileges:true'],
        read_only: name !== 'kafka',
        limited: true,
      });
    }
  });

  it('builds each of the six services from the one Dockerfile with APP as build arg, health-checked and init-wrapped', () => {
    for (const [name, port] of Object.entries(SERVICES)) {
      const s = config.services[name]!;
      expect({ name, args: s.build?.args, healthcheck: s.healthcheck?.test, init: s.init }).toEqual({
        name,
        args: { APP: name },
        healthcheck: ['CMD', 'node', 'healthcheck.cjs'],
        init: true,
      });
      expect({ name, env: s.environment }).toMatchObject({
        name,
        env: { HTTP_PORT: String(port), KAFKA_BROKERS: 'kafka:9092', KAFKA_CLIENT_ID: name, KAFKA_TOPIC_PARTITIONS: '3', KAFKA_REPLICATION_FACTOR: '1' },
      });
      expect({ name, kafka: s.depends_on?.kafka }).toEqual({ name, kafka: { condition: 'service_healthy' } });
    }
  });

  it('wires the gateway to ingest and the predictor, waits for both to be healthy, and takes API_KEYS from .env', () => {
    const gw = config.services['api-gateway']!;
    expect(gw.environment).toMatchObject({ INGEST_URL: 'http://ingest:8081', PREDICTOR_GRPC_ADDR: 'ml-predictor:50051', API_KEYS: 'change-me-local-dev-key' });
    expect(gw.depends_on).toEqual({ kafka: { condition: 'service_healthy' }, ingest: { condition: 'service_healthy' }, 'ml-predictor': { condition: 'service_healthy' } });
    expect(config.services['ml-predictor']!.environment).toMatchObject({ GRPC_PORT: '50051' });
    expect(config.services.aggregator!.environment).toMatchObject({ AGG_WINDOW_SECONDS: '300', AGG_MAX_SERIES: '10000', AGG_SNAPSHOT_INTERVAL_MS: '500' });
  });

  it('runs the two serving processes with the latency GC settings (docs/deploy.md, "Serving latency")', () => {
    for (const name of ['ml-predictor', 'api-gateway']) {
      expect({ name, env: config.services[name]!.environment }).toMatchObject({
        name,
        env: { NODE_OPTIONS: expect.stringContaining('--max-semi-space-size=1') },
      });
    }
  });

  it('runs the two ML services, which use worker threads, with one malloc arena and mmapped large buffers (docs/deploy.md, "ML services\' memory")', () => {
    for (const name of ['ml-predictor', 'ml-trainer']) {
      expect({ name, env: config.services[name]!.environment }).toMatchObject({ name, env: { MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '131072' } });
    }
  });

  it('runs Kafka from apache/kafka in KRaft mode (no ZooKeeper) with a health check and a named data volume', () => {
    const k = config.services.kafka!;
    expect(k.image).toMatch(/^apache\/kafka:4\.\d+\.\d+$/);
    expect(k.environment).toMatchObject({ KAFKA_PROCESS_ROLES: 'broker,controller', KAFKA_CONTROLLER_QUORUM_VOTERS: '1@kafka:9093', KAFKA_LOG_DIRS: '/var/lib/kafka/data' });
    expect(Object.keys(config.services).filter((s) => /zookeeper/i.test(s))).toEqual([]);
    expect(k.healthcheck?.test.join(' ')).toContain('kafka-broker-api-versions.sh --bootstrap-server localhost:9092');
    expect(mounts(k)).toContainEqual(['kafka-data', '/var/lib/kafka/data']);
  });

  it('mounts the credential files from ./secrets/ beside the compose file: the token into the six services, each ML key into its one service', () => {
    expect(config.secrets).toEqual({
      'internal-token': { file: join(configDir, 'secrets/internal-token') },
      'ml-signing-key': { file: join(configDir, 'secrets/ml-signing-key.pem') },
      'ml-verify-keys': { file: join(configDir, 'secrets/ml-verify-keys.pem') },
    });
    const mounted = Object.fromEntries(Object.entries(config.services).map(([name, s]) => [name, (s.secrets ?? []).map((x) => x.source)]));
    expect(mounted).toEqual({
      kafka: [],
      prometheus: [],
      grafana: [],
      'api-gateway': ['internal-token'],
      ingest: ['internal-token'],
      aggregator: ['internal-token'],
      'batch-processor': ['internal-token'],
      'ml-trainer': ['internal-token', 'ml-signing-key'],
      'ml-predictor': ['internal-token', 'ml-verify-keys'],
    });
    for (const name of Object.keys(SERVICES)) expect({ name, file: config.services[name]!.environment!.INTERNAL_TOKEN_FILE }).toEqual({ name, file: '/run/secrets/internal-token' });
  });

  it('takes other credential file paths from .env', () => {
    const other = resolved(composeConfig(true, { edit: (t) => t.replace(/^INTERNAL_TOKEN_PATH=.*$/m, 'INTERNAL_TOKEN_PATH=/etc/pipeline/token') }));
    expect(other.secrets['internal-token']).toEqual({ file: '/etc/pipeline/token' });
  });

  it('keeps trained models in a named volume at ml-trainer MODEL_CACHE_DIR', () => {
    const t = config.services['ml-trainer']!;
    expect(mounts(t)).toContainEqual(['models', t.environment!.MODEL_CACHE_DIR]);
    expect(Object.keys(config.volumes).sort()).toEqual(['grafana-data', 'kafka-data', 'models', 'prometheus-data']);
  });

  it('mounts our Prometheus config and rules, and Grafana provisioning and dashboards, read-only', () => {
    const binds = (name: string) =>
      (config.services[name]!.volumes ?? []).filter((v) => v.startsWith('/')).map((v) => v.replace(/^\/tmp\/compose-[^/]+\//, ''));
    expect(binds('prometheus')).toEqual(['deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro', 'deploy/prometheus/rules:/etc/prometheus/rules:ro']);
    expect(binds('grafana')).toEqual(['deploy/grafana/provisioning:/etc/grafana/provisioning:ro', 'deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro']);
    expect([config.services.prometheus!.image, config.services.grafana!.image]).toEqual([expect.stringMatching(/^prom\/prometheus:v\d/), expect.stringMatching(/^grafana\/grafana:\d/)]);
  });
});

// docker-compose.yml as written (parsed YAML, no docker-compose binary; compose.int.spec.ts checks what
// docker-compose resolves): what is published on the host and where, the containers' hardening and
// limits (the same as deploy/k8s/base), and Prometheus and Grafana without their unsafe defaults (issue 21).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { renderKustomization, type K8sObject } from './support/renderKustomization';
import { REPO_ROOT } from './support/tools';

type ComposeService = {
  image?: string;
  ports?: string[];
  command?: string[];
  environment?: Record<string, string>;
  read_only?: boolean;
  tmpfs?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  mem_limit?: string;
  cpus?: number;
  secrets?: string[];
  volumes?: string[];
};
const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
  secrets: Record<string, { file: string }>;
};
const services = compose.services;
const APPS = ['api-gateway', 'ingest', 'aggregator', 'ml-trainer', 'ml-predictor', 'batch-processor'];
type DeploymentObj = K8sObject & { spec: { template: { spec: { containers: { resources: { limits: { cpu: string; memory: string } } }[] } } } };

/** Kubernetes quantities as docker-compose writes them: 512Mi -> 512m (docker's m is MiB), 1Gi -> 1g; "2" -> 2 CPUs. */
const dockerMemory = (q: string) => q.replace(/Mi$/, 'm').replace(/Gi$/, 'g');
const cpus = (q: string) => (q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q));

describe('docker-compose.yml as written', () => {
  it('publishes only the gateway and Grafana, on 127.0.0.1 unless GATEWAY_BIND/GRAFANA_BIND say otherwise, and Kafka’s host listener on 127.0.0.1 only', () => {
    const published = Object.fromEntries(Object.entries(services).filter(([, s]) => s.ports).map(([name, s]) => [name, s.ports]));
    expect(published).toEqual({
      'api-gateway': ['${GATEWAY_BIND:-127.0.0.1}:${GATEWAY_HOST_PORT:-8080}:8080'],
      grafana: ['${GRAFANA_BIND:-127.0.0.1}:${GRAFANA_HOST_PORT:-3000}:3000'],
      kafka: ['127.0.0.1:${KAFKA_HOST_PORT:-29092}:29092'],
    });
  });

  it('runs every container without capabilities and with no-new-privileges, and every one but Kafka on a read-only root filesystem', () => {
    for (const [name, s] of Object.entries(services)) {
      expect({ name, cap_drop: s.cap_drop, security_opt: s.security_opt, read_only: s.read_only }).toEqual({
        name,
        cap_drop: ['ALL'],
        security_opt: ['no-new-privileges:true'],
        // Kafka's image writes its generated configuration beside the files it ships in /opt/kafka/config.
        read_only: name === 'kafka' ? undefined : true,
      });
    }
    for (const name of [...APPS, 'grafana']) expect({ name, tmpfs: services[name]!.tmpfs }).toEqual({ name, tmpfs: ['/tmp:size=64m,mode=1777'] });
  });

  it('limits each service’s memory and CPU as its Kubernetes manifest does, and Kafka, Prometheus and Grafana too', () => {
    const base = renderKustomization(join(REPO_ROOT, 'deploy/k8s/base')).filter((o) => o.kind === 'Deployment') as DeploymentObj[];
    expect(base.map((d) => d.metadata.name).sort()).toEqual([...APPS].sort());
    for (const d of base) {
      const limits = d.spec.template.spec.containers[0]!.resources.limits;
      const s = services[d.metadata.name]!;
      expect({ name: d.metadata.name, mem: s.mem_limit, cpus: s.cpus }).toEqual({ name: d.metadata.name, mem: dockerMemory(limits.memory), cpus: cpus(limits.cpu) });
    }
    for (const name of ['kafka', 'prometheus', 'grafana']) {
      expect({ name, mem: typeof services[name]!.mem_limit, cpus: typeof services[name]!.cpus }).toEqual({ name, mem: 'string', cpus: 'number' });
    }
    // Kafka's heap stays within its 1 GiB container (the image's default heap is 1 GiB on its own).
    expect([services.kafka!.mem_limit, services.kafka!.environment!.KAFKA_HEAP_OPTS]).toEqual(['1g', '-Xms512m -Xmx512m']);
  });

  it('mounts the internal token into every service and points INTERNAL_TOKEN_FILE at it; Kafka, Prometheus and Grafana get no credential file', () => {
    for (const name of APPS) {
      const s = services[name]!;
      expect({ name, mounted: s.secrets?.includes('internal-token'), INTERNAL_TOKEN_FILE: s.environment?.INTERNAL_TOKEN_FILE }).toEqual({
        name,
        mounted: true,
        INTERNAL_TOKEN_FILE: '/run/secrets/internal-token',
      });
    }
    for (const name of ['kafka', 'prometheus', 'grafana']) expect({ name, secrets: services[name]!.secrets }).toEqual({ name, secrets: undefined });
  });

  it('gives the ML signing key to ml-trainer alone and the ML verify keys to ml-predictor alone, with their variables', () => {
    const holders = (secret: string, variable: string) => Object.keys(services).filter((n) => services[n]!.secrets?.includes(secret) || services[n]!.environment?.[variable] !== undefined);
    expect(holders('ml-signing-key', 'ML_SIGNING_KEY_FILE')).toEqual(['ml-trainer']);
    expect(holders('ml-verify-keys', 'ML_VERIFY_KEYS_FILE')).toEqual(['ml-predictor']);
    expect([services['ml-trainer']!.secrets, services['ml-trainer']!.environment!.ML_SIGNING_KEY_FILE]).toEqual([['internal-token', 'ml-signing-key'], '/run/secrets/ml-signing-key']);
    expect([services['ml-predictor']!.secrets, services['ml-predictor']!.environment!.ML_VERIFY_KEYS_FILE]).toEqual([['internal-token', 'ml-verify-keys'], '/run/secrets/ml-verify-keys']);
  });

  it('reads the credential files from ./secrets/ (what scripts/make-secrets.sh writes, git-ignored, kept out of the image build) unless .env names other paths', () => {
    expect(compose.secrets).toEqual({
      'internal-token': { file: '${INTERNAL_TOKEN_PATH:-./secrets/internal-token}' },
      'ml-signing-key': { file: '${ML_SIGNING_KEY_PATH:-./secrets/ml-signing-key.pem}' },
      'ml-verify-keys': { file: '${ML_VERIFY_KEYS_PATH:-./secrets/ml-verify-keys.pem}' },
    });
    const example = Object.fromEntries(
      readFileSync(join(REPO_ROOT, '.env.example'), 'utf8')
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect([example.INTERNAL_TOKEN_PATH, example.ML_SIGNING_KEY_PATH, example.ML_VERIFY_KEYS_PATH]).toEqual(['./secrets/internal-token', './secrets/ml-signing-key.pem', './secrets/ml-verify-keys.pem']);
    const script = readFileSync(join(REPO_ROOT, 'scripts/make-secrets.sh'), 'utf8');
    for (const file of ['internal-token', 'ml-signing-key.pem', 'ml-verify-keys.pem']) expect({ file, written: script.includes(`"$dir/${file}"`) }).toEqual({ file, written: true });
    const lines = (f: string) => readFileSync(join(REPO_ROOT, f), 'utf8').split('\n');
    expect([lines('.gitignore').includes('/secrets/'), lines('.dockerignore').includes('secrets')]).toEqual([true, true]);
    // Never a writable mount of the directory beside the read-only secrets.
    expect(Object.entries(services).filter(([, s]) => (s.volumes ?? []).some((v) => v.includes('secrets'))).map(([n]) => n)).toEqual([]);
  });

  it('runs Prometheus without the lifecycle API (an unauthenticated /-/quit and /-/reload)', () => {
    expect(services.prometheus!.command!.filter((a) => a.startsWith('--web.enable-'))).toEqual([]);
  });

  it('requires GRAFANA_ADMIN_PASSWORD (no fallback password) and runs a supported Grafana line', () => {
    expect(services.grafana!.environment!.GF_SECURITY_ADMIN_PASSWORD).toBe('${GRAFANA_ADMIN_PASSWORD:?GRAFANA_ADMIN_PASSWORD is not set; copy .env.example to .env and set it}');
    expect(services.grafana!.image).toMatch(/^grafana\/grafana:12\.4\.\d+$/);
  });

  it('keeps .env.example in step: it sets the required secrets and no host port that is no longer published', () => {
    const example = readFileSync(join(REPO_ROOT, '.env.example'), 'utf8');
    const keys = example.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.slice(0, l.indexOf('=')));
    expect(keys).toEqual(expect.arrayContaining(['API_KEYS', 'GRAFANA_ADMIN_PASSWORD', 'GATEWAY_BIND', 'GRAFANA_BIND']));
    expect(keys.filter((k) => ['INGEST_HOST_PORT', 'PREDICTOR_GRPC_HOST_PORT', 'PROMETHEUS_HOST_PORT'].includes(k))).toEqual([]);
  });
});

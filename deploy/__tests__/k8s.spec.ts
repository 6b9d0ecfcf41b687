// deploy/k8s: base and both overlays render (support/renderKustomization.ts), every built-in object
// passes the Kubernetes OpenAPI schema (kubernetes-models), custom resources (Strimzi, Prometheus
// Operator) have their required fields, and the pieces agree with each other (ports, probes,
// partitions vs replicas, secrets, images).
import { COMPACTED_TOPIC_CONFIG, pipelineTopicSpecs } from '@pipeline/kafka';
import { parseInternalTokens } from '@pipeline/service-runtime';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { isCoreKind, renderKustomization, strategicMerge, type K8sObject } from './support/renderKustomization';
import { REPO_ROOT } from './support/tools';

const K8S = join(REPO_ROOT, 'deploy/k8s');
const SERVICES: Record<string, number> = { 'api-gateway': 8080, ingest: 8081, aggregator: 8082, 'ml-trainer': 8083, 'ml-predictor': 8084, 'batch-processor': 8085 };
// The topics the services provision themselves are the single source of truth for the Strimzi topics.
const SPECS = pipelineTopicSpecs({ partitions: 1, replicationFactor: 1 });
const TOPICS = SPECS.map((s) => s.topic);
const COMPACTED = SPECS.filter((s) => s.compacted).map((s) => s.topic);

type Model = { validate(): void };
const MODELS: Record<string, new (data: never) => Model> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/Namespace': Namespace,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

type Container = {
  name: string;
  image: string;
  ports: { name: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string } }[];
  readinessProbe?: { httpGet?: { path: string; port: string } };
  livenessProbe?: { httpGet?: { path: string; port: string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { runAsNonRoot?: boolean; readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
};
type DeploymentObj = K8sObject & {
  spec: {
    replicas: number;
    strategy?: { type: string };
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: {
        securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; fsGroup?: number };
        containers: Container[];
        volumes?: { name: string; emptyDir?: object; persistentVolumeClaim?: { claimName: string }; secret?: { secretName: string; defaultMode?: number; items?: { key: string; path: string }[] } }[];
      };
    };
  };
};
type Spec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const renders: Record<string, K8sObject[]> = {
  base: renderKustomization(join(K8S, 'base')),
  dev: renderKustomization(join(K8S, 'overlays/dev')),
  prod: renderKustomization(join(K8S, 'overlays/prod')),
};
const find = (objs: K8sObject[], kind: string, name?: string) => objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
const one = <T extends K8sObject = K8sObject & { spec: Spec }>(objs: K8sObject[], kind: string, name: string): T => {
  const found = find(objs, kind, name);
  if (found.length !== 1) throw new Error(`expected one ${kind}/${name}, found ${found.length}`);
  return found[0] as T;
};
const envOf = (c: Container) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
/**
 * The files a Deployment's container sees from the Secret `secretName`: for each key mounted, its path
 * (mount path + item path), whether the mount is read-only and the files' mode.
 */
const secretFiles = (d: DeploymentObj, secretName: string) => {
  const pod = d.spec.template.spec;
  return (pod.volumes ?? [])
    .filter((v) => v.secret?.secretName === secretName)
    .flatMap((v) =>
      (pod.containers[0]!.volumeMounts ?? [])
        .filter((m) => m.name === v.name)
        .flatMap((m) => (v.secret!.items ?? []).map((i) => ({ key: i.key, path: `${m.mountPath}/${i.path}`, readOnly: m.readOnly === true, mode: v.secret!.defaultMode }))),
    );
};
/** The variables naming the credentials mounted as files (docs/deploy.md, "Credentials"). */
const FILE_VARIABLES = ['INTERNAL_TOKEN_FILE', 'ML_SIGNING_KEY_FILE', 'ML_VERIFY_KEYS_FILE'];
const labelsMatch = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

describe.each(Object.keys(renders))('deploy/k8s %s', (variant) => {
  const objs = renders[variant]!;
  const deployments = find(objs, 'Deployment') as DeploymentObj[];

  it('validates every built-in object against the Kubernetes schema and knows every kind', () => {
    const failures: string[] = [];
    for (const o of objs.filter(isCoreKind)) {
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      if (!Model) {
        failures.push(`${o.apiVersion} ${o.kind}/${o.metadata.name}: no schema model registered in this test`);
        continue;
      }
      try {
        new Model(o as never).validate();
      } catch (e) {
        failures.push(`${o.kind}/${o.metadata.name}: ${(e as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
    const custom = objs.filter((o) => !isCoreKind(o)).map((o) => `${o.apiVersion} ${o.kind}`);
    const allowed = ['kafka.strimzi.io/v1 Kafka', 'kafka.strimzi.io/v1 KafkaNodePool', 'kafka.strimzi.io/v1 KafkaTopic', 'kafka.strimzi.io/v1 KafkaUser', 'monitoring.coreos.com/v1 ServiceMonitor'];
    expect(custom.filter((c) => !allowed.includes(c))).toEqual([]);
  });

  it('runs one Deployment per service, with its HTTP port, probes, resources and a locked-down container', () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(Object.keys(SERVICES).sort());
    for (const d of deployments) {
      const name = d.metadata.name;
      const pod = d.spec.template.spec;
      expect(pod.containers).toHaveLength(1);
      const c = pod.containers[0]!;
      const port = SERVICES[name]!;
      expect({ name, env: envOf(c) }).toMatchObject({ name, env: { HTTP_PORT: String(port), KAFKA_CLIENT_ID: name } });
      expect({ name, http: c.ports.find((p) => p.name === 'http')?.containerPort }).toEqual({ name, http: port });
      expect({ name, readiness: c.readinessProbe?.httpGet, liveness: c.livenessProbe?.httpGet }).toEqual({
        name,
        readiness: { path: '/readyz', port: 'http' },
        liveness: { path: '/healthz', port: 'http' },
      });
      expect({ name, requests: Object.keys(c.resources?.requests ?? {}).sort(), limits: Object.keys(c.resources?.limits ?? {}).sort() }).toEqual({
        name,
        requests: ['cpu', 'memory'],
        limits: ['cpu', 'memory'],
      });
      // USER node in the image is a name; the kubelet can only prove non-root from a numeric uid.
      expect({ name, pod: pod.securityContext }).toMatchObject({ name, pod: { runAsNonRoot: true, runAsUser: 1000 } });
      expect({ name, sc: c.securityContext }).toMatchObject({
        name,
        sc: { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      });
      const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
      expect({ name, tmpIsEmptyDir: Boolean(tmp && pod.volumes?.find((v) => v.name === tmp.name)?.emptyDir) }).toEqual({ name, tmpIsEmptyDir: true });
      expect({ name, annotations: d.spec.template.metadata.annotations }).toEqual({
        name,
        annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': '/metrics' },
      });
      expect({ name, selects: labelsMatch(d.spec.selector.matchLabels, d.spec.template.metadata.labels) }).toEqual({ name, selects: true });
      for (const ref of c.envFrom ?? []) if (variant !== 'base') expect(find(objs, 'ConfigMap', ref.configMapRef!.name)).toHaveLength(1);
    }
    const predictor = deployments.find((d) => d.metadata.name === 'ml-predictor')!.spec.template.spec.containers[0]!;
    expect([predictor.ports.find((p) => p.name === 'grpc')?.containerPort, envOf(predictor).GRPC_PORT]).toEqual([50051, '50051']);
  });

  it('runs the two serving processes with the latency GC settings (docs/deploy.md, "Serving latency")', () => {
    for (const name of ['ml-predictor', 'api-gateway']) {
      const c = deployments.find((d) => d.metadata.name === name)!.spec.template.spec.containers[0]!;
      expect({ name, env: envOf(c) }).toMatchObject({ name, env: { NODE_OPTIONS: expect.stringContaining('--max-semi-space-size=1') } });
    }
  });

  it('holds the gateway\'s old generation to half its memory limit, so its RSS does not follow the heap\'s high-water mark (docs/deploy.md, "Gateway memory")', () => {
    const c = deployments.find((d) => d.metadata.name === 'api-gateway')!.spec.template.spec.containers[0]!;
    expect([envOf(c).NODE_OPTIONS?.match(/--max-old-space-size=(\d+)/)?.[1], c.resources?.limits?.memory]).toEqual(['256', '512Mi']);
  });

  it('runs the two ML services, which use worker threads, with one malloc arena and mmapped large buffers (docs/deploy.md, "ML services\' memory")', () => {
    for (const name of ['ml-predictor', 'ml-trainer']) {
      const c = deployments.find((d) => d.metadata.name === name)!.spec.template.spec.containers[0]!;
      expect({ name, env: envOf(c) }).toMatchObject({ name, env: { MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '131072' } });
    }
  });

  it('exposes each service through a Service that selects its pods on the http port (and grpc for ml-predictor)', () => {
    for (const d of deployments) {
      const svc = one(objs, 'Service', d.metadata.name);
      expect({ name: d.metadata.name, selects: labelsMatch(svc.spec.selector, d.spec.template.metadata.labels) }).toEqual({ name: d.metadata.name, selects: true });
      const ports = (svc.spec.ports as { name: string; port: number; targetPort: string }[]).map((p) => [p.name, p.port, p.targetPort]);
      const expected: [string, number, string][] = [['http', SERVICES[d.metadata.name]!, 'http']];
      if (d.metadata.name === 'ml-predictor') expected.push(['grpc', 50051, 'grpc']);
      expect(ports).toEqual(expected);
    }
  });

  it('autoscales api-gateway, ingest and ml-predictor and protects every service with a PodDisruptionBudget', () => {
    const hpas = find(objs, 'HorizontalPodAutoscaler') as (K8sObject & { spec: Spec })[];
    expect(hpas.map((h) => [h.metadata.name, h.spec.scaleTargetRef.kind, h.spec.scaleTargetRef.name]).sort()).toEqual([
      ['api-gateway', 'Deployment', 'api-gateway'],
      ['ingest', 'Deployment', 'ingest'],
      ['ml-predictor', 'Deployment', 'ml-predictor'],
    ]);
    for (const h of hpas) expect(h.spec.minReplicas).toBeLessThanOrEqual(h.spec.maxReplicas);
    for (const d of deployments) {
      const pdb = one(objs, 'PodDisruptionBudget', d.metadata.name);
      expect({ name: d.metadata.name, selects: labelsMatch(pdb.spec.selector.matchLabels, d.spec.template.metadata.labels) }).toEqual({ name: d.metadata.name, selects: true });
    }
  });

  it('mounts the internal token read-only into every Deployment, readable by the pod group alone, and points INTERNAL_TOKEN_FILE at it', () => {
    for (const d of deployments) {
      const name = d.metadata.name;
      const pod = d.spec.template.spec;
      const files = secretFiles(d, 'pipeline-internal-token');
      expect({ name, files, INTERNAL_TOKEN_FILE: envOf(pod.containers[0]!).INTERNAL_TOKEN_FILE, fsGroup: pod.securityContext?.fsGroup }).toEqual({
        name,
        files: [{ key: 'token', path: '/etc/pipeline/internal-token/token', readOnly: true, mode: 0o440 }],
        INTERNAL_TOKEN_FILE: '/etc/pipeline/internal-token/token',
        // 0440 files are root's and the fsGroup's: the service (uid 1000) reads them through the group.
        fsGroup: 1000,
      });
    }
  });

  it('mounts the ML signing key into ml-trainer alone and the ML verify keys into ml-predictor alone, read-only, with their variables', () => {
    const holders = (secret: string, variable: string) =>
      deployments.filter((d) => secretFiles(d, secret).length > 0 || envOf(d.spec.template.spec.containers[0]!)[variable] !== undefined).map((d) => d.metadata.name);
    expect(holders('pipeline-ml-signing-key', 'ML_SIGNING_KEY_FILE')).toEqual(['ml-trainer']);
    expect(holders('pipeline-ml-verify-keys', 'ML_VERIFY_KEYS_FILE')).toEqual(['ml-predictor']);
    for (const [name, secret, variable, key] of [
      ['ml-trainer', 'pipeline-ml-signing-key', 'ML_SIGNING_KEY_FILE', 'signing-key.pem'],
      ['ml-predictor', 'pipeline-ml-verify-keys', 'ML_VERIFY_KEYS_FILE', 'verify-keys.pem'],
    ] as const) {
      const d = deployments.find((x) => x.metadata.name === name)!;
      const path = `/etc/pipeline/${secret.replace(/^pipeline-/, '')}/${key}`;
      expect({ name, files: secretFiles(d, secret), env: envOf(d.spec.template.spec.containers[0]!)[variable] }).toEqual({
        name,
        files: [{ key, path, readOnly: true, mode: 0o440 }],
        env: path,
      });
    }
  });

  it('keeps the credential file variables out of the shared ConfigMap, where they would reach every service', () => {
    const data = one<K8sObject & { data: Record<string, string> }>(objs, 'ConfigMap', 'pipeline-config').data;
    expect(FILE_VARIABLES.filter((v) => v in data)).toEqual([]);
  });

  it('mounts the ml-trainer model volume at MODEL_CACHE_DIR, with one replica and Recreate for its ReadWriteOnce claim', () => {
    const d = deployments.find((x) => x.metadata.name === 'ml-trainer')!;
    const c = d.spec.template.spec.containers[0]!;
    const mount = c.volumeMounts!.find((m) => m.mountPath === envOf(c).MODEL_CACHE_DIR)!;
    const claim = d.spec.template.spec.volumes!.find((v) => v.name === mount.name)!.persistentVolumeClaim!.claimName;
    expect(one(objs, 'PersistentVolumeClaim', claim).spec.accessModes).toEqual(['ReadWriteOnce']);
    expect([d.spec.replicas, d.spec.strategy?.type]).toEqual([1, 'Recreate']);
  });
});

describe.each(['dev', 'prod'])('deploy/k8s overlay %s', (variant) => {
  const objs = renders[variant]!;
  const namespace = variant === 'dev' ? 'pipeline-dev' : 'pipeline';
  const config = one(objs, 'ConfigMap', 'pipeline-config') as K8sObject & { data: Record<string, string> };
  const kafka = one(objs, 'Kafka', 'pipeline-kafka');
  const pools = find(objs, 'KafkaNodePool') as (K8sObject & { spec: Spec })[];
  const topics = find(objs, 'KafkaTopic') as (K8sObject & { spec: Spec })[];

  it('holds the V8 old generation of the gateway and the aggregator to half their memory limit (docs/deploy.md, "Gateway memory", "Aggregator memory")', () => {
    const mib = (q: string) => Number(q.slice(0, -2)) * (q.endsWith('Gi') ? 1024 : 1); // "512Mi", "2Gi"
    const caps = (find(objs, 'Deployment') as DeploymentObj[])
      .filter((d) => ['api-gateway', 'aggregator'].includes(d.metadata.name as string))
      .map((d) => {
        const c = d.spec.template.spec.containers[0]!;
        return [d.metadata.name, Number(envOf(c).NODE_OPTIONS?.match(/--max-old-space-size=(\d+)/)?.[1]), mib(String(c.resources?.limits?.memory)) / 2];
      });
    expect(caps.map(([name, cap]) => [name, cap])).toEqual(caps.map(([name, , half]) => [name, half]));
    expect(caps).toHaveLength(2);
  });

  it('puts every namespaced object in its namespace and ships that Namespace', () => {
    expect(one(objs, 'Namespace', namespace).metadata.name).toBe(namespace);
    expect(objs.filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== namespace).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
  });

  it('declares a Strimzi KRaft Kafka with node pools that hold both roles', () => {
    expect(kafka.apiVersion).toBe('kafka.strimzi.io/v1');
    expect(kafka.spec.kafka.version).toMatch(/^4\.\d+\.\d+$/);
    expect(kafka.spec.kafka.listeners.length).toBeGreaterThan(0);
    expect(kafka.spec).not.toHaveProperty('zookeeper');
    expect(pools.length).toBeGreaterThan(0);
    for (const p of pools) {
      expect(p.metadata.labels?.['strimzi.io/cluster']).toBe('pipeline-kafka');
      expect(p.spec.replicas).toBeGreaterThan(0);
      expect(p.spec.storage.type).toBe('jbod');
    }
    const roles = new Set(pools.flatMap((p) => p.spec.roles as string[]));
    expect([...roles].sort()).toEqual(['broker', 'controller']);
  });

  it('points KAFKA_BROKERS at the Strimzi bootstrap Service of the TLS listener, the only one', () => {
    const listeners = kafka.spec.kafka.listeners as { name: string; port: number; tls: boolean }[];
    expect(listeners.map((l) => l.tls)).toEqual([true]);
    expect(config.data.KAFKA_BROKERS).toBe(`pipeline-kafka-kafka-bootstrap:${listeners[0]!.port}`);
  });

  it('declares every topic the services provision with the partition count the services use, compacting the state topics', () => {
    expect(topics.map((t) => t.spec.topicName).sort()).toEqual([...TOPICS].sort());
    for (const t of topics) {
      expect({ topic: t.spec.topicName, cluster: t.metadata.labels?.['strimzi.io/cluster'], partitions: t.spec.partitions }).toEqual({
        topic: t.spec.topicName,
        cluster: 'pipeline-kafka',
        partitions: Number(config.data.KAFKA_TOPIC_PARTITIONS),
      });
    }
    expect(topics.filter((t) => t.spec.config?.['cleanup.policy'] === 'compact').map((t) => t.spec.topicName).sort()).toEqual([...COMPACTED].sort());
    // The same compaction settings as the topics the services create (libs/kafka COMPACTED_TOPIC_CONFIG).
    for (const t of topics.filter((t) => COMPACTED.includes(t.spec.topicName as string))) {
      const declared = Object.fromEntries(Object.entries(t.spec.config ?? {}).map(([k, v]) => [k, String(v)]));
      expect({ topic: t.spec.topicName, ...declared }).toEqual({ topic: t.spec.topicName, ...COMPACTED_TOPIC_CONFIG });
    }
  });

  it('gives every topic whose records expire the retention.ms and retention.bytes the services create it with (KAFKA_RETENTION_* defaults)', () => {
    const declared = topics
      .filter((t) => !COMPACTED.includes(t.spec.topicName as string))
      .map((t) => ({ topic: t.spec.topicName, ms: String(t.spec.config?.['retention.ms']), bytes: String(t.spec.config?.['retention.bytes']) }));
    const provisioned = SPECS.filter((s) => !s.compacted).map((s) => ({ topic: s.topic, ms: s.config?.['retention.ms'], bytes: s.config?.['retention.bytes'] }));
    const byTopic = (a: { topic: unknown }, b: { topic: unknown }) => String(a.topic).localeCompare(String(b.topic));
    expect(declared.sort(byTopic)).toEqual(provisioned.sort(byTopic));
    expect(provisioned.map((p) => `${p.ms} ${p.bytes}`)).toEqual(provisioned.map(() => '604800000 17179869184'));
  });

  it('keeps the replication factor within the broker count and equal to the broker default', () => {
    const brokers = pools.filter((p) => (p.spec.roles as string[]).includes('broker')).reduce((n, p) => n + (p.spec.replicas as number), 0);
    const rf = Number(config.data.KAFKA_REPLICATION_FACTOR);
    expect(rf).toBeLessThanOrEqual(brokers);
    expect(kafka.spec.kafka.config['default.replication.factor']).toBe(rf);
    expect(kafka.spec.kafka.config['offsets.topic.replication.factor']).toBeLessThanOrEqual(brokers);
    expect(kafka.spec.kafka.config['min.insync.replicas']).toBeLessThanOrEqual(rf);
  });

  it('never runs more aggregator or batch-processor replicas than partitions (extra consumers would idle)', () => {
    const partitions = Number(config.data.KAFKA_TOPIC_PARTITIONS);
    for (const name of ['aggregator', 'batch-processor']) {
      expect({ name, withinPartitions: one<DeploymentObj>(objs, 'Deployment', name).spec.replicas <= partitions }).toEqual({ name, withinPartitions: true });
    }
  });
});

describe('deploy/k8s overlay differences', () => {
  it('dev ships placeholder API_KEYS and internal token Secrets that the Deployments read, and no ML key; prod ships none (real secret manager)', () => {
    const gateway = one<DeploymentObj>(renders.dev!, 'Deployment', 'api-gateway').spec.template.spec.containers[0]!;
    const ref = gateway.env!.find((e) => e.name === 'API_KEYS')!.valueFrom!.secretKeyRef!;
    expect(ref).toEqual({ name: 'pipeline-secrets', key: 'API_KEYS' });
    expect(Object.keys(one(renders.dev!, 'Secret', ref.name).stringData as object)).toEqual(['API_KEYS']);
    // A placeholder, named as one, that the services accept as a token file of one line.
    const tokenData = one(renders.dev!, 'Secret', 'pipeline-internal-token').stringData as Record<string, string>;
    expect(Object.keys(tokenData)).toEqual(['token']);
    expect(tokenData.token).toMatch(/^dev-only-placeholder-/);
    expect(parseInternalTokens(tokenData.token!, 'pipeline-internal-token')).toEqual([tokenData.token]);
    expect(find(renders.dev!, 'Secret').map((s) => s.metadata.name).sort()).toEqual(['pipeline-internal-token', 'pipeline-secrets']);
    expect(find(renders.prod!, 'Secret')).toEqual([]);
    expect(find(renders.base!, 'Secret')).toEqual([]);
  });

  it('prod pins every image to the registry with a version tag; dev uses the locally built :local images', () => {
    const images = (v: string) => (find(renders[v]!, 'Deployment') as DeploymentObj[]).map((d) => [d.metadata.name, d.spec.template.spec.containers[0]!.image]);
    expect(images('prod')).toEqual(images('base').map(([n]) => [n, `registry.example.com/event-pipeline/${n}:0.1.0`]));
    expect(images('dev')).toEqual(images('base').map(([n]) => [n, `event-pipeline/${n}:local`]));
  });

  it('prod has a ServiceMonitor that selects every pipeline Service on its http port and keeps job="pipeline"', () => {
    const sm = one(renders.prod!, 'ServiceMonitor', 'event-pipeline');
    expect(sm.apiVersion).toBe('monitoring.coreos.com/v1');
    const services = find(renders.prod!, 'Service') as (K8sObject & { spec: Spec })[];
    expect(services.filter((s) => !labelsMatch(sm.spec.selector.matchLabels, s.metadata.labels ?? {})).map((s) => s.metadata.name)).toEqual([]);
    expect(sm.spec.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
    expect(sm.spec.endpoints[0].relabelings).toContainEqual({ action: 'replace', targetLabel: 'job', replacement: 'pipeline' });
    // The services' own service="…" label comes back as exported_service, a copy on every series
    expect(sm.spec.endpoints[0].metricRelabelings).toEqual([{ action: 'labeldrop', regex: 'exported_service' }]);
    for (const s of services) expect(s.spec.ports.map((p: { name: string }) => p.name)).toContain('http');
  });

  it('prod gives ml-predictor and api-gateway a core each, room for a second, and autoscales them at 40 % of it', () => {
    for (const name of ['ml-predictor', 'api-gateway']) {
      const c = (one(renders.prod!, 'Deployment', name) as DeploymentObj).spec.template.spec.containers.find((x) => x.name === name)!;
      const hpa = one(renders.prod!, 'HorizontalPodAutoscaler', name);
      expect({ name, resources: c.resources, metrics: hpa.spec.metrics, min: hpa.spec.minReplicas }).toEqual({
        name,
        resources: { requests: { cpu: '1', memory: '256Mi' }, limits: { cpu: '2', memory: '512Mi' } },
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 40 } } }],
        min: 3,
      });
    }
    // The base keeps its small requests (dev clusters).
    const base = (one(renders.base!, 'Deployment', 'ml-predictor') as DeploymentObj).spec.template.spec.containers[0]!;
    expect(base.resources?.requests?.cpu).toBe('250m');
  });

  it('prod runs 3-node persistent Kafka with RF 3 and dev one ephemeral node with RF 1', () => {
    const shape = (v: string) => {
      const pool = one(renders[v]!, 'KafkaNodePool', 'dual-role');
      return [pool.spec.replicas, pool.spec.storage.volumes.map((x: { type: string }) => x.type), one<K8sObject & { data: Record<string, string> }>(renders[v]!, 'ConfigMap', 'pipeline-config').data.KAFKA_REPLICATION_FACTOR];
    };
    expect(shape('prod')).toEqual([3, ['persistent-claim'], '3']);
    expect(shape('dev')).toEqual([1, ['ephemeral'], '1']);
  });
});

describe('kustomize renderer', () => {
  it('rejects kustomization fields it does not implement instead of ignoring them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kust-'));
    writeFileSync(join(dir, 'kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamePrefix: x-\n');
    expect(() => renderKustomization(dir)).toThrow(`${join(dir, 'kustomization.yaml')}: renderer does not support namePrefix`);
  });

  it('merges containers by name and replaces other lists, leaving the target unchanged', () => {
    const target = { spec: { replicas: 1, containers: [{ name: 'a', image: 'x', args: ['1'] }, { name: 'b', image: 'y' }] } };
    const before = structuredClone(target);
    const merged = strategicMerge(target, { spec: { replicas: 3, containers: [{ name: 'b', image: 'z', args: ['2'] }] } });
    expect(merged).toEqual({ spec: { replicas: 3, containers: [{ name: 'a', image: 'x', args: ['1'] }, { name: 'b', image: 'z', args: ['2'] }] } });
    expect(strategicMerge({ volumes: [{ id: 0, type: 'a' }] }, { volumes: [{ id: 0, type: 'b' }] })).toEqual({ volumes: [{ id: 0, type: 'b' }] });
    expect(target).toEqual(before);
  });
});

// deploy/k8s NetworkPolicies (issue 21): the namespace denies everything in and out, and allows
// exactly the paths in PATHS below — nothing else. Each overlay is rendered (support/renderKustomization)
// and its policies evaluated over the pods that run there, the pods around them, and a stray pod in
// each place (support/networkPolicies), for every port any policy or container names.
import { join } from 'node:path';
import { allowedPaths, portsOf, type NetworkPolicy, type Workload } from './support/networkPolicies';
import { renderKustomization, type K8sObject } from './support/renderKustomization';
import { REPO_ROOT } from './support/tools';

const SERVICES: Record<string, number> = { 'api-gateway': 8080, ingest: 8081, aggregator: 8082, 'ml-trainer': 8083, 'ml-predictor': 8084, 'batch-processor': 8085 };
type DeploymentObj = K8sObject & { spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: { ports?: { containerPort: number; protocol?: string }[] }[] } } } };

/** Pods of the namespace besides the six services: Strimzi's (labels as Strimzi 0.49 sets them) and a stray one. */
const STRIMZI_AND_STRAY: { name: string; labels: Record<string, string> }[] = [
  {
    name: 'kafka',
    labels: {
      'strimzi.io/cluster': 'pipeline-kafka',
      'strimzi.io/kind': 'Kafka',
      'strimzi.io/name': 'pipeline-kafka-kafka',
      'strimzi.io/pool-name': 'dual-role',
      'strimzi.io/broker-role': 'true',
      'strimzi.io/controller-role': 'true',
    },
  },
  { name: 'entity-operator', labels: { 'strimzi.io/cluster': 'pipeline-kafka', 'strimzi.io/kind': 'Kafka', 'strimzi.io/name': 'pipeline-kafka-entity-operator' } },
  { name: 'cluster-operator', labels: { name: 'strimzi-cluster-operator', 'strimzi.io/kind': 'cluster-operator' } },
  { name: 'stray-pod', labels: { app: 'debug' } },
];
const ns = (name: string, extra: Record<string, string> = {}) => ({ namespace: name, namespaceLabels: { 'kubernetes.io/metadata.name': name, ...extra } });
/** Workloads outside the namespace. */
const AROUND: Workload[] = [
  { name: 'ingress-controller', ...ns('ingress', { 'event-pipeline/ingress-controller': 'true' }), labels: { 'app.kubernetes.io/name': 'ingress-controller' } },
  { name: 'prometheus', ...ns('monitoring'), labels: { 'app.kubernetes.io/name': 'prometheus' } },
  { name: 'grafana', ...ns('monitoring'), labels: { 'app.kubernetes.io/name': 'grafana' } },
  { name: 'kube-dns', ...ns('kube-system'), labels: { 'k8s-app': 'kube-dns' } },
  { name: 'other-kube-system-pod', ...ns('kube-system'), labels: { 'k8s-app': 'metrics-server' } },
  { name: 'pod-in-another-namespace', ...ns('default'), labels: { 'app.kubernetes.io/name': 'api-gateway' } },
  { name: 'outside-cluster', ip: '172.18.0.2' }, // e.g. the Kubernetes API server, or anything on the internet
];

/** The allowed paths, "from → to:port/protocol". "every pod" expands to each pod of the namespace. */
const PATHS = [
  'ingress-controller → api-gateway:8080/TCP',
  ...Object.entries(SERVICES).map(([s, port]) => `prometheus → ${s}:${port}/TCP`),
  'api-gateway → ingest:8081/TCP',
  'api-gateway → ml-predictor:50051/TCP',
  ...Object.keys(SERVICES).map((s) => `${s} → kafka:9093/TCP`),
  'every pod → kube-dns:53/TCP',
  'every pod → kube-dns:53/UDP',
  'kafka → kafka:9090/TCP',
  'kafka → kafka:9091/TCP',
  'entity-operator → kafka:9091/TCP',
  'cluster-operator → kafka:9091/TCP',
  'cluster-operator → kafka:8443/TCP',
  'entity-operator → outside-cluster:443/TCP',
  'entity-operator → outside-cluster:6443/TCP',
  'cluster-operator → outside-cluster:443/TCP',
  'cluster-operator → outside-cluster:6443/TCP',
];

describe.each([
  ['dev', 'pipeline-dev'],
  ['prod', 'pipeline'],
])('deploy/k8s overlay %s NetworkPolicies', (variant, namespace) => {
  const objs = renderKustomization(join(REPO_ROOT, 'deploy/k8s/overlays', variant));
  const policies = objs.filter((o) => o.kind === 'NetworkPolicy') as NetworkPolicy[];
  const deployments = objs.filter((o) => o.kind === 'Deployment') as DeploymentObj[];
  const inside: Workload[] = [
    ...deployments.map((d) => ({ name: d.metadata.name, ...ns(namespace), labels: d.spec.template.metadata.labels })),
    ...STRIMZI_AND_STRAY.map((p) => ({ ...p, ...ns(namespace) })),
  ];
  const containerPorts = deployments.flatMap((d) => d.spec.template.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`)));
  const ports = portsOf(policies, [...containerPorts, '9092/TCP', '22/TCP', '443/TCP']);
  const expected = PATHS.flatMap((p) => (p.startsWith('every pod ') ? inside.map((w) => p.replace('every pod', w.name)) : [p])).sort();

  it('denies all ingress and egress of every pod in the namespace by default', () => {
    const deny = policies.find((p) => p.metadata.name === 'default-deny-all')!;
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  });

  it('allows exactly the documented paths between the services, Kafka, DNS, the ingress controller and Prometheus, and nothing else', () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(Object.keys(SERVICES).sort());
    expect(allowedPaths(policies, namespace, [...inside, ...AROUND], ports)).toEqual(expected);
  });

  it('lets a stray pod in the namespace resolve names and nothing more, and keeps ingest and the predictor away from everyone but the gateway (and Prometheus on /metrics)', () => {
    const all = allowedPaths(policies, namespace, [...inside, ...AROUND], ports);
    expect(all.filter((l) => l.startsWith('stray-pod → '))).toEqual(['stray-pod → kube-dns:53/TCP', 'stray-pod → kube-dns:53/UDP']);
    expect(all.filter((l) => / → (ingest|ml-predictor):/.test(l))).toEqual([
      'api-gateway → ingest:8081/TCP',
      'api-gateway → ml-predictor:50051/TCP',
      'prometheus → ingest:8081/TCP',
      'prometheus → ml-predictor:8084/TCP',
    ]);
    // A pod elsewhere that carries a service's labels gets nothing: peers without a namespaceSelector are this namespace only.
    expect(all.filter((l) => l.startsWith('pod-in-another-namespace'))).toEqual([]);
  });

  it('gives Strimzi the client listener port the policies open, with the same peers', () => {
    const kafka = objs.find((o) => o.kind === 'Kafka') as K8sObject & { spec: { kafka: { listeners: { port: number; networkPolicyPeers?: unknown[] }[] } } };
    expect(kafka.spec.kafka.listeners.map((l) => l.port)).toEqual([9093]);
    expect(kafka.spec.kafka.listeners[0]!.networkPolicyPeers).toEqual([{ podSelector: { matchLabels: { 'app.kubernetes.io/part-of': 'event-pipeline', 'app.kubernetes.io/component': 'service' } } }]);
  });
});

describe('NetworkPolicy evaluator', () => {
  const w = (name: string, labels: Record<string, string>, namespace = 'n'): Workload => ({ name, labels, namespace, namespaceLabels: { 'kubernetes.io/metadata.name': namespace } });
  const policy = (name: string, spec: NetworkPolicy['spec']): NetworkPolicy => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name }, spec });

  it('allows everything between pods no policy selects, and nothing once a default deny selects them', () => {
    const pods = [w('a', { app: 'a' }), w('b', { app: 'b' })];
    expect(allowedPaths([], 'n', pods, ['80/TCP'])).toEqual(['a → a:80/TCP', 'a → b:80/TCP', 'b → a:80/TCP', 'b → b:80/TCP']);
    expect(allowedPaths([policy('deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })], 'n', pods, ['80/TCP'])).toEqual([]);
  });

  it('needs both the egress of the source and the ingress of the destination, on the port and protocol', () => {
    const pods = [w('a', { app: 'a' }), w('b', { app: 'b' })];
    const deny = policy('deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const egress = policy('a-out', { podSelector: { matchLabels: { app: 'a' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { app: 'b' } } }], ports: [{ port: 80 }] }] });
    const ingress = policy('b-in', { podSelector: { matchLabels: { app: 'b' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'a' } } }], ports: [{ port: 80 }] }] });
    expect(allowedPaths([deny, egress], 'n', pods, ['80/TCP', '80/UDP'])).toEqual([]);
    expect(allowedPaths([deny, egress, ingress], 'n', pods, ['80/TCP', '80/UDP', '81/TCP'])).toEqual(['a → b:80/TCP']);
  });

  it('matches a peer without namespaceSelector only in the policy namespace, and ipBlock only outside the pod network', () => {
    const deny = policy('deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const out = policy('out', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { app: 'b' } } }, { ipBlock: { cidr: '10.0.0.0/8' } }] }] });
    const pods = [w('a', { app: 'a' }), w('b-elsewhere', { app: 'b' }, 'm'), { name: 'ext', ip: '10.1.2.3' }, { name: 'ext2', ip: '192.168.0.1' }];
    expect(allowedPaths([deny, out], 'n', pods, ['80/TCP'])).toEqual(['a → ext:80/TCP']);
  });

  it('refuses named ports instead of guessing what they resolve to', () => {
    const p = policy('named', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 'http' }] }] });
    expect(() => allowedPaths([p], 'n', [w('a', {})], ['80/TCP'])).toThrow('named port "http": use port numbers in NetworkPolicies');
  });
});

// deploy/k8s Kafka authentication and authorization (issue 21): one TLS listener with SCRAM-SHA-512,
// simple ACLs, one KafkaUser per service holding only what that service does (which topics it
// writes and reads, its consumer groups), and each Deployment wired to its own user's Secret and the
// cluster CA through the env contract in docs/deploy.md ("Credentials").
import { pipelineTopicSpecs } from '@pipeline/kafka';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderKustomization, type K8sObject } from './support/renderKustomization';
import { REPO_ROOT } from './support/tools';

type Acl = { resource: { type: 'topic' | 'group' | 'cluster' | 'transactionalId'; name?: string; patternType?: 'literal' | 'prefix' }; operations: string[]; type?: string; host?: string };
type KafkaUser = K8sObject & { spec: { authentication: { type: string }; authorization: { type: string; acls: Acl[] } } };
type Container = {
  name: string;
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string } }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
};
type DeploymentObj = K8sObject & { spec: { template: { spec: { containers: Container[]; volumes?: { name: string; secret?: { secretName: string; items?: { key: string; path: string }[] } }[] } } } };

const SERVICES = ['api-gateway', 'ingest', 'aggregator', 'ml-trainer', 'ml-predictor', 'batch-processor'];
const TOPICS = pipelineTopicSpecs({ partitions: 1, replicationFactor: 1 }).map((s) => s.topic);
const EVENTS = TOPICS.filter((t) => t.startsWith('events.'));

const objs = renderKustomization(join(REPO_ROOT, 'deploy/k8s/overlays/prod'));
const users = objs.filter((o) => o.kind === 'KafkaUser') as KafkaUser[];

/** Whether `acl` covers `op` on the resource `type`/`name` (literal, `*`, or prefix; All covers every operation). */
function covers(acl: Acl, type: string, name: string, op: string): boolean {
  if (acl.resource.type !== type || (acl.type ?? 'allow') !== 'allow') return false;
  const n = acl.resource.name ?? '';
  const nameOk = (acl.resource.patternType ?? 'literal') === 'prefix' ? name.startsWith(n) : n === '*' || n === name;
  // Kafka: Read, Write, Delete and Alter imply Describe.
  const implied = op === 'Describe' ? ['Describe', 'Read', 'Write', 'Delete', 'Alter'] : [op];
  return nameOk && acl.operations.some((o) => o === 'All' || implied.includes(o));
}
const may = (u: KafkaUser, type: string, name: string, op: string) => u.spec.authorization.acls.some((a) => covers(a, type, name, op));
/** topic -> the users allowed `op` on it. */
const whoMay = (type: string, op: string, names: readonly string[]) => Object.fromEntries(names.map((n) => [n, users.filter((u) => may(u, type, n, op)).map((u) => u.metadata.name).sort()]));

describe('deploy/k8s Kafka authentication and ACLs', () => {
  it('listens only with TLS and SCRAM-SHA-512, authorizes with simple ACLs and runs the User Operator', () => {
    const kafka = objs.find((o) => o.kind === 'Kafka') as K8sObject & { spec: { kafka: { listeners: object[]; authorization: object }; entityOperator: Record<string, unknown> } };
    expect(kafka.spec.kafka.listeners).toEqual([expect.objectContaining({ name: 'tls', port: 9093, type: 'internal', tls: true, authentication: { type: 'scram-sha-512' } })]);
    expect(kafka.spec.kafka.authorization).toEqual({ type: 'simple' });
    expect(Object.keys(kafka.spec.entityOperator).sort()).toEqual(['topicOperator', 'userOperator']);
  });

  it('has one SCRAM-SHA-512 KafkaUser per service, in the Kafka cluster, with simple authorization', () => {
    expect(users.map((u) => u.metadata.name).sort()).toEqual([...SERVICES].sort());
    for (const u of users) {
      expect({ user: u.metadata.name, cluster: u.metadata.labels?.['strimzi.io/cluster'], auth: u.spec.authentication, authz: u.spec.authorization.type }).toEqual({
        user: u.metadata.name,
        cluster: 'pipeline-kafka',
        auth: { type: 'scram-sha-512' },
        authz: 'simple',
      });
    }
  });

  it('lets only ml-trainer write the model registry, only the aggregator write snapshots, and each topic be written only by its producers', () => {
    expect(whoMay('topic', 'Write', TOPICS)).toEqual({
      ...Object.fromEntries(EVENTS.map((t) => [t, ['ingest']])),
      'events.metrics': ['api-gateway', 'ingest'], // POST /pipeline/aggregate publishes metric events itself
      'pipeline.deadletter': ['ingest'],
      'pipeline.aggregator.snapshots': ['aggregator'],
      'pipeline.ml.commands': ['api-gateway'],
      'pipeline.ml.jobs': ['api-gateway', 'ml-trainer'], // the gateway writes "queued", the trainer the rest
      'pipeline.ml.models': ['ml-trainer'],
      'pipeline.batch.commands': ['api-gateway'],
      'pipeline.batch.tasks': ['batch-processor'],
      'pipeline.batch.jobs': ['api-gateway', 'batch-processor'], // "queued" and cancel markers from the gateway
    });
  });

  it('lets each topic be read only by its consumers', () => {
    expect(whoMay('topic', 'Read', TOPICS)).toEqual({
      ...Object.fromEntries(EVENTS.map((t) => [t, ['aggregator', 'batch-processor', 'ingest', 'ml-trainer']])), // ingest: the dead-letter validator; trainer and batch: source ranges
      'pipeline.deadletter': [],
      'pipeline.aggregator.snapshots': ['aggregator', 'api-gateway', 'ingest'], // ingest: the series check (INGEST_SERIES_CHECK)
      'pipeline.ml.commands': ['ml-trainer'],
      'pipeline.ml.jobs': ['api-gateway', 'ml-trainer'],
      'pipeline.ml.models': ['ml-predictor', 'ml-trainer'],
      'pipeline.batch.commands': ['batch-processor'],
      'pipeline.batch.tasks': ['batch-processor'],
      'pipeline.batch.jobs': ['api-gateway', 'batch-processor'],
    });
  });

  it('lets every service describe the pipeline topics (it lists them at start) and none create, delete or reconfigure topics or touch the cluster', () => {
    expect(whoMay('topic', 'Describe', TOPICS)).toEqual(Object.fromEntries(TOPICS.map((t) => [t, [...SERVICES].sort()])));
    for (const op of ['Create', 'Delete', 'Alter', 'AlterConfigs', 'DescribeConfigs']) {
      expect({ op, who: whoMay('topic', op, [...TOPICS, 'some.other.topic']) }).toEqual({ op, who: Object.fromEntries([...TOPICS, 'some.other.topic'].map((t) => [t, []])) });
    }
    expect(users.flatMap((u) => u.spec.authorization.acls.filter((a) => a.resource.type === 'cluster' || a.resource.type === 'transactionalId' || a.operations.includes('All')).map((a) => `${u.metadata.name}: ${JSON.stringify(a)}`))).toEqual([]);
    expect(whoMay('topic', 'Describe', ['__consumer_offsets', 'other.topic'])).toEqual({ __consumer_offsets: [], 'other.topic': [] });
  });

  it("lets each service join its own consumer groups (the services' default group ids) and no one else's", () => {
    // Group ids: the defaults in each app's config.ts (AGG_GROUP_ID, VALIDATOR_GROUP_ID, ML_TRAINER_GROUP_ID,
    // BATCH_GROUP_ID) and the fixed prefixes of the throw-away view and range-reader groups (+ a uuid).
    const configs = Object.fromEntries(SERVICES.map((s) => [s, readFileSync(join(REPO_ROOT, 'apps', s, 'src/config.ts'), 'utf8')]));
    for (const [svc, id] of [['aggregator', 'pipeline-aggregator'], ['ingest', 'pipeline-ingest-validator'], ['ml-trainer', 'pipeline-ml-trainer'], ['batch-processor', 'pipeline-batch-processor']]) {
      expect({ svc, defaultGroup: configs[svc!]!.includes(`'${id}'`) }).toEqual({ svc, defaultGroup: true });
    }
    const uuid = '0b6f3e2a-5b1c-4f9e-9d3a-2f1e0c9b8a7d';
    const groups = {
      'pipeline-aggregator': ['aggregator'],
      [`pipeline-aggregator-state-restore-${uuid}`]: ['aggregator'],
      [`pipeline-aggregator-state-fetch-${uuid}`]: ['aggregator'],
      'pipeline-ingest-validator': ['ingest'],
      [`pipeline-ingest-series-${uuid}`]: ['ingest'],
      'pipeline-ml-trainer': ['ml-trainer'],
      [`pipeline-ml-trainer-jobs-${uuid}`]: ['ml-trainer'],
      [`pipeline-ml-trainer-models-${uuid}`]: ['ml-trainer'],
      [`pipeline-ml-predictor-models-${uuid}`]: ['ml-predictor'],
      'pipeline-batch-processor': ['batch-processor'],
      [`pipeline-batch-processor-view-${uuid}`]: ['batch-processor'],
      [`pipeline-range-reader-${uuid}`]: ['batch-processor', 'ml-trainer'],
      [`pipeline-gateway-stats-${uuid}`]: ['api-gateway'],
      [`pipeline-gateway-ml-jobs-${uuid}`]: ['api-gateway'],
      [`pipeline-gateway-batch-view-${uuid}`]: ['api-gateway'],
      'some-other-group': [],
    };
    expect(whoMay('group', 'Read', Object.keys(groups))).toEqual(groups);
    // The range readers delete their throw-away group when done; nothing else may delete a group.
    expect(whoMay('group', 'Delete', Object.keys(groups))).toEqual(Object.fromEntries(Object.keys(groups).map((g) => [g, g.startsWith('pipeline-range-reader-') ? ['batch-processor', 'ml-trainer'] : []])));
  });
});

describe('deploy/k8s services wired to their Kafka credentials', () => {
  const config = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'pipeline-config') as K8sObject & { data: Record<string, string> };
  const deployments = objs.filter((o) => o.kind === 'Deployment') as DeploymentObj[];

  it('sets the shared TLS and SASL settings in pipeline-config: KAFKA_SSL, KAFKA_SSL_CA_FILE, KAFKA_SASL_MECHANISM', () => {
    expect(config.data).toMatchObject({ KAFKA_BROKERS: 'pipeline-kafka-kafka-bootstrap:9093', KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: '/etc/kafka-ca/ca.crt', KAFKA_SASL_MECHANISM: 'scram-sha-512' });
  });

  it("gives each service its own KafkaUser's name and password (from the Secret Strimzi makes) and mounts the cluster CA read-only at KAFKA_SSL_CA_FILE", () => {
    for (const d of deployments) {
      const name = d.metadata.name;
      const c = d.spec.template.spec.containers[0]!;
      const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));
      expect({ name, user: env.KAFKA_SASL_USERNAME, password: env.KAFKA_SASL_PASSWORD, config: c.envFrom }).toEqual({
        name,
        user: name,
        password: { secretKeyRef: { name, key: 'password' } },
        config: [{ configMapRef: { name: 'pipeline-config' } }],
      });
      const mount = c.volumeMounts!.find((m) => config.data.KAFKA_SSL_CA_FILE!.startsWith(`${m.mountPath}/`))!;
      const volume = d.spec.template.spec.volumes!.find((v) => v.name === mount.name)!;
      expect({ name, readOnly: mount.readOnly, secret: volume.secret }).toEqual({
        name,
        readOnly: true,
        secret: { secretName: 'pipeline-kafka-cluster-ca-cert', items: [{ key: 'ca.crt', path: config.data.KAFKA_SSL_CA_FILE!.slice(mount.mountPath.length + 1) }] },
      });
    }
    expect(users.map((u) => u.metadata.name).sort()).toEqual(deployments.map((d) => d.metadata.name).sort());
  });

  it('commits no Kafka credential: no Secret in the manifests besides the dev placeholders (API key, internal token)', () => {
    expect(objs.filter((o) => o.kind === 'Secret')).toEqual([]);
    const dev = renderKustomization(join(REPO_ROOT, 'deploy/k8s/overlays/dev'));
    expect(dev.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name)).toEqual(['pipeline-secrets', 'pipeline-internal-token']);
    expect(dev.filter((o) => o.kind === 'KafkaUser').map((o) => o.metadata.name).sort()).toEqual([...SERVICES].sort());
  });
});

import { Kind, TypeRegistry, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { Express } from 'express';
import { InMemoryBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { startService, type RunningService, type ServiceFactory } from '@pipeline/service-runtime';
import { freePort, httpRequest } from '@pipeline/testing';
import { createIngest, readIngestConfig } from '../../../ingest/src/index';
import { createGateway, readGatewayConfig, type GatewayConfig } from '../index';

/**
 * The published OpenAPI document and the running handlers agree (issue 18): for every operation
 * with a request body or parameters, each example below (and each `examples` entry of the published
 * schemas) is checked against the published schema — $refs resolved, compiled with TypeBox — and
 * sent to the gateway (with ingest behind it, on the in-memory bus): valid under the schema ⇒ not
 * answered 400; invalid ⇒ answered 400. The document lists exactly the routes the gateway serves.
 */

type Json = Record<string, unknown>;
/** One request: a JSON body, or path and query parameters (the schema sees them as one object). */
interface Example {
  body?: unknown;
  params?: Record<string, unknown>;
}
interface Examples {
  valid: Example[];
  invalid: Example[];
}

const metric = { topic: 'events.metrics', payload: { metric_name: 'latency_ms', value: 150.5 } };
const inlineEvents = [{ topic: 'events.metrics', timestamp: '2024-01-01T00:00:00Z', payload: { metric_name: 'm', value: 1 } }];
const features = [
  [1, 2],
  [2, 3],
  [8, 9],
  [9, 8],
];
const source = { topic: 'events.metrics', from: '2024-01-01T00:00:00Z', to: '2024-01-02T00:00:00Z' };

/**
 * Hand-picked examples per operation: `valid` ones must be valid under the published schema and
 * `invalid` ones invalid (checked first, so the list keeps meaning what it says). A path parameter
 * is any decoded string, so routes with only path parameters have no invalid example. An array of
 * events is answered 202 with the invalid ones listed by index (documented), so the invalid events
 * here are single events.
 */
const EXAMPLES: Record<string, Examples> = {
  'POST /pipeline/events': {
    valid: [
      { body: metric },
      { body: [metric, { topic: 'events.errors', payload: { error_type: 'Timeout', message: 'upstream timed out', service: 'api', severity: 'error' } }] },
      { body: { ...metric, id: 'e-1', timestamp: '2024-02-29T12:00:00Z', source: 'svc', key: 'k', schema_version: 1 } },
      { body: { ...metric, timestamp: 1_700_000_000_000 } },
      { body: { topic: 'events.user', payload: { user_id: 'u1', action: 'click' } } },
    ],
    invalid: [
      { body: { payload: metric.payload } },
      { body: { ...metric, topic: 'events.nope' } },
      { body: { ...metric, extra: 1 } },
      { body: { ...metric, timestamp: '2024-02-30T00:00:00Z' } },
      { body: { ...metric, timestamp: 1e16 } },
      { body: { ...metric, schema_version: 2 } },
      { body: { topic: 'events.metrics', payload: {} } },
      { body: { topic: 'events.metrics', payload: { metric_name: 'm', value: 'abc' } } },
      { body: 5 },
    ],
  },
  'POST /pipeline/aggregate': {
    valid: [
      { body: { metric_name: 'latency_ms', value: 150.5, group_by: 'api' } },
      { body: { metric_name: 'm', value: -1, timestamp: '2024-01-01T00:00:00Z', tags: { env: 'prod' } } },
      { body: { metrics: [{ metric_name: 'a', value: 1 }, { metric_name: 'b', value: 0 }] } },
    ],
    invalid: [
      { body: { metric_name: 'm' } },
      { body: { metric_name: 'm', value: 'abc' } },
      { body: { metric_name: '', value: 1 } },
      { body: { metric_name: 'm', value: 1, unknown: true } },
      { body: { metrics: [] } },
      { body: { metrics: [{ metric_name: 'm' }] } },
      { body: { metric_name: 'm', value: 1, timestamp: '2024-02-30T00:00:00Z' } },
      { body: { metric_name: 'm', value: 1, timestamp: -1e16 } },
      { body: [1, 2] },
    ],
  },
  'POST /pipeline/spark/process': {
    valid: [
      { body: { operation: 'process_batch', events: inlineEvents } },
      { body: { operation: 'time_window_metrics', events: inlineEvents } },
      { body: { operation: 'time_window_metrics', events: inlineEvents, window_minutes: 5, slide_minutes: 1, group_key: 'metric_name' } },
      { body: { operation: 'detect_anomalies', events: inlineEvents, threshold_std: 3 } },
      { body: { operation: 'join', join_key: 'k', left: [{ k: 1 }], right: [{ k: 1 }] } },
      { body: { operation: 'join', join_key: 'k', source, right_source: source, join_type: 'left' } },
      { body: { operation: 'process_batch', source } },
    ],
    invalid: [
      { body: {} },
      { body: { operation: 'nope', events: inlineEvents } },
      { body: { operation: 'time_window_metrics', events: inlineEvents, slide_minute: 5 } },
      { body: { operation: 'process_batch', source: { ...source, from: '2024-02-30T00:00:00Z' } } },
      { body: { operation: 'process_batch', events: 'x' } },
      { body: { operation: 'process_batch', events: inlineEvents, source } },
      { body: { operation: 'process_batch', events: [{ payload: { value: 1 } }] } },
      { body: { operation: 'detect_anomalies', events: inlineEvents } },
      { body: { operation: 'join', join_key: 'k', left: [{ k: 1 }] } },
      { body: { operation: 'join', join_key: 'k', left: [{ k: 1 }], right: [], source } },
      { body: { operation: 'time_window_metrics', events: inlineEvents, window_minutes: 0 } },
    ],
  },
  'POST /pipeline/ml/train': {
    valid: [
      { body: { model_name: 'm', model_type: 'kmeans', feature_keys: ['a'], data: [{ a: 1 }, { a: 2 }], params: { nClusters: 2 } } },
      { body: { model_name: 'if', model_type: 'isolation_forest', feature_keys: ['a'], source: { topic: 'events.metrics', from: '2024-01-01T00:00:00Z', to: '2024-01-02T00:00:00Z' } } },
      { body: { model_name: 'lr', model_type: 'linear_regression', feature_keys: ['a'], target_key: 'y', data: [{ a: 1, y: 2 }, { a: 2, y: 4 }] } },
    ],
    invalid: [
      { body: { model_type: 'kmeans', feature_keys: ['a'], data: [{ a: 1 }] } },
      { body: { model_name: 'm', model_type: 'svm', feature_keys: ['a'], data: [{ a: 1 }] } },
      { body: { model_name: 'm', model_type: 'kmeans', feature_keys: ['a', 'a'], data: [{ a: 1 }] } },
      { body: { model_name: 'm', model_type: 'kmeans', feature_keys: ['a'], data: [{ a: 1 }], params: { nClusters: -1 } } },
      { body: { model_name: 'm', model_type: 'kmeans', feature_keys: ['a'], data: [{ a: 1 }] } },
      { body: { model_name: 'lr', model_type: 'linear_regression', feature_keys: ['a'], data: [{ a: 1, y: 2 }] } },
      { body: { model_name: 'm', model_type: 'isolation_forest', feature_keys: ['a'] } },
      { body: { model_name: 'm', model_type: 'kmeans', feature_keys: ['a'], data: [{ a: 1 }], extra: 1 } },
    ],
  },
  'POST /pipeline/ml/predict': {
    valid: [{ body: { model_name: 'm', features: [[1, 2]] } }, { body: { model_name: 'm', version: 1, rows: [{ a: 1 }] } }],
    invalid: [{ body: { model_name: 'm' } }, { body: { model_name: 'm', features: [[1]], rows: [{ a: 1 }] } }, { body: { features: [[1]] } }, { body: { model_name: 'm', features: [['x']] } }, { body: { model_name: 'm', features: [[1]], extra: 1 } }],
  },
  'POST /pipeline/ml/cluster': {
    valid: [{ body: { features, n_clusters: 2 } }, { body: { features, n_clusters: 2, seed: 7 } }],
    invalid: [{ body: { features } }, { body: { features, n_clusters: 'two' } }, { body: { features: [], n_clusters: 2 } }, { body: { features, n_clusters: 2, extra: 1 } }],
  },
  'POST /pipeline/ml/anomalies': {
    valid: [{ body: { features, contamination: 0.25 } }, { body: { features, contamination: 0.25, seed: 1 } }],
    invalid: [{ body: {} }, { body: { features } }, { body: { features, contamination: 'x' } }, { body: { features: [[1], 'x'] } }, { body: { features, extra: 1 } }],
  },
  'GET /pipeline/stats/{metric_name}': {
    valid: [{ params: { metric_name: 'latency_ms' } }, { params: { metric_name: 'a b/c', group: 'api' } }],
    invalid: [{ params: { metric_name: 'latency_ms', group: '' } }, { params: { metric_name: 'latency_ms', group: ['a', 'b'] } }],
  },
  'GET /pipeline/all-stats': {
    valid: [{ params: {} }, { params: { prefix: 'http_', limit: 1 } }, { params: { limit: 10_000, cursor: 'b' } }, { params: { prefix: '', cursor: '' } }],
    invalid: [
      { params: { limit: 0 } },
      { params: { limit: 10_001 } },
      { params: { limit: 1.5 } },
      { params: { limit: 'ten' } },
      { params: { limit: '1e3' } },
      { params: { limit: '0x10' } },
      { params: { prefix: ['a', 'b'] } },
    ],
  },
  'GET /pipeline/topk/{dimension}': {
    valid: [{ params: { dimension: 'error_type' } }, { params: { dimension: 'metric_name', k: 1 } }, { params: { dimension: 'action', k: 1000 } }],
    invalid: [{ params: { dimension: 'error_type', k: 0 } }, { params: { dimension: 'error_type', k: 1001 } }, { params: { dimension: 'error_type', k: 'x' } }, { params: { dimension: 'error_type', k: '' } }],
  },
  'GET /pipeline/spark/jobs': {
    valid: [
      { params: {} },
      { params: { status: 'running' } },
      { params: { status: 'succeeded' } },
      { params: { limit: 1 } },
      // a next_cursor as the list hands it out (the position after job j1 of 2026-12-01T10:00:00.000Z)
      { params: { status: 'failed', limit: 1000, cursor: 'WyIyMDI2LTEyLTAxVDEwOjAwOjAwLjAwMFoiLCJqMSJd' } },
    ],
    invalid: [
      { params: { status: 'done' } },
      { params: { status: '' } },
      { params: { status: ['running', 'queued'] } },
      { params: { limit: 0 } },
      { params: { limit: 1001 } },
      { params: { limit: 1.5 } },
      { params: { limit: 'ten' } },
      { params: { limit: '1e3' } },
      { params: { limit: '' } },
      { params: { limit: ['1', '2'] } },
      { params: { cursor: '' } },
      { params: { cursor: 'not a cursor!' } },
      { params: { cursor: ['a', 'b'] } },
    ],
  },
  'GET /pipeline/spark/jobs/{id}': { valid: [{ params: { id: 'no-such-job' } }], invalid: [] },
  'DELETE /pipeline/spark/jobs/{id}': { valid: [{ params: { id: 'no-such-job' } }], invalid: [] },
  'GET /pipeline/ml/jobs/{job_id}': { valid: [{ params: { job_id: 'no-such-job' } }], invalid: [] },
  'DELETE /pipeline/ml/jobs/{job_id}': { valid: [{ params: { job_id: 'no-such-job' } }], invalid: [] },
  'GET /pipeline/ml/models/{name}': {
    valid: [{ params: { name: 'm' } }, { params: { name: 'm', version: 1 } }],
    invalid: [{ params: { name: 'm', version: 0 } }, { params: { name: 'm', version: 'x' } }, { params: { name: 'm', version: 1.5 } }],
  },
};

/**
 * The published JSON Schema as a TypeBox schema: $refs resolved against the document's components
 * and each node given the TypeBox kind its keywords say (a JSON Schema 2020-12 subset: the keywords
 * TypeBox emits). An unknown keyword fails the test rather than being ignored.
 */
function toTypeBox(node: unknown, doc: Json, seen: string[] = []): TSchema {
  if (node === true || node === undefined) return { [Kind]: 'Unknown' } as unknown as TSchema;
  if (node === false) return { [Kind]: 'Never' } as unknown as TSchema;
  const { $ref, oneOf, anyOf, allOf, not, enum: values, ...s } = node as Json;
  if (typeof $ref === 'string') {
    const name = /^#\/components\/schemas\/(.+)$/.exec($ref)?.[1];
    const target = name === undefined ? undefined : ((doc['components'] as Json)['schemas'] as Json)[name];
    if (target === undefined || seen.includes($ref)) throw new Error(`unresolvable or cyclic $ref ${$ref}`);
    return toTypeBox(target, doc, [...seen, $ref]);
  }
  const sub = (v: unknown) => toTypeBox(v, doc, seen);
  const union = (variants: TSchema[]) => ({ [Kind]: 'Union', anyOf: variants }) as unknown as TSchema;
  // Each applicator is one more condition on the value: all of them must hold.
  const parts: TSchema[] = [];
  const annotationsOnly = Object.keys(s).every((k) => ANNOTATIONS.has(k));
  if (!annotationsOnly || parts.length === 0) {
    const base = baseSchema(s, sub);
    if (base) parts.push(base);
  }
  if (Array.isArray(values)) parts.push(union(values.map((v) => ({ [Kind]: 'Literal', const: v }) as unknown as TSchema)));
  if (Array.isArray(anyOf)) parts.push(union(anyOf.map(sub)));
  if (Array.isArray(oneOf)) parts.push({ [Kind]: 'OneOf', oneOf: oneOf.map(sub) } as unknown as TSchema);
  if (Array.isArray(allOf)) parts.push(...allOf.map(sub));
  if (not !== undefined) parts.push({ [Kind]: 'Not', not: sub(not) } as unknown as TSchema);
  if (parts.length === 0) return { [Kind]: 'Unknown' } as unknown as TSchema;
  return parts.length === 1 ? parts[0]! : ({ [Kind]: 'Intersect', allOf: parts } as unknown as TSchema);
}

const ANNOTATIONS = new Set(['description', 'default', 'examples', 'title', 'discriminator', 'errorMessage']);

/** The node's own keywords (no applicators) as one TypeBox schema; undefined when it has none. */
function baseSchema(s: Json, sub: (v: unknown) => TSchema): TSchema | undefined {
  if ('const' in s) return { ...s, [Kind]: 'Literal' } as unknown as TSchema;
  if (Array.isArray(s['type'])) {
    const { type, ...rest } = s;
    return { [Kind]: 'Union', anyOf: (type as string[]).map((t) => baseSchema({ ...rest, type: t }, sub)!) } as unknown as TSchema;
  }
  switch (s['type']) {
    case 'string':
      return { ...s, [Kind]: 'String' } as unknown as TSchema;
    case 'number':
      return { ...s, [Kind]: 'Number' } as unknown as TSchema;
    case 'integer':
      return { ...s, [Kind]: 'Integer' } as unknown as TSchema;
    case 'boolean':
      return { ...s, [Kind]: 'Boolean' } as unknown as TSchema;
    case 'null':
      return { ...s, [Kind]: 'Null' } as unknown as TSchema;
    case 'array':
      return { ...s, [Kind]: 'Array', items: sub(s['items']) } as unknown as TSchema;
    case 'object': {
      const additional = s['additionalProperties'];
      const extra = typeof additional === 'object' ? { additionalProperties: sub(additional) } : {};
      if (s['patternProperties'] !== undefined) {
        const entries = Object.entries(s['patternProperties'] as Json);
        if (entries.length !== 1) throw new Error(`patternProperties with ${entries.length} patterns`);
        return { ...s, ...extra, [Kind]: 'Record', patternProperties: { [entries[0]![0]]: sub(entries[0]![1]) } } as unknown as TSchema;
      }
      if (s['properties'] === undefined && typeof additional === 'object') {
        // {type: object, additionalProperties: S}: a record of S.
        return { ...s, [Kind]: 'Record', patternProperties: { '^(.*)$': sub(additional) }, additionalProperties: false } as unknown as TSchema;
      }
      const properties = Object.fromEntries(Object.entries((s['properties'] ?? {}) as Json).map(([k, v]) => [k, sub(v)]));
      return { ...s, ...extra, [Kind]: 'Object', properties } as unknown as TSchema;
    }
    case undefined: {
      const keywords = Object.keys(s).filter((k) => !ANNOTATIONS.has(k));
      if (keywords.length === 0) return undefined;
      if (keywords.length === 1 && keywords[0] === 'required') return { [Kind]: 'Required', required: s['required'] } as unknown as TSchema;
      throw new Error(`schema without a type: ${JSON.stringify(s).slice(0, 200)}`);
    }
    default:
      throw new Error(`unsupported type ${String(s['type'])}`);
  }
}

// JSON Schema keywords TypeBox has no kind for, checked as the 2020-12 spec says.
TypeRegistry.Set<{ oneOf: TSchema[] }>('OneOf', (schema, value) => schema.oneOf.filter((s) => Value.Check(s, value)).length === 1);
TypeRegistry.Set<{ required: string[] }>('Required', (schema, value) => value === null || typeof value !== 'object' || Array.isArray(value) || schema.required.every((k) => Object.hasOwn(value, k)));

interface Operation {
  key: string;
  method: string;
  path: string;
  check?: TypeCheck<TSchema>;
  kind: 'body' | 'params';
  pathParams: string[];
  schemaExamples: Example[];
}

/** The operations of the document that take a body or parameters, each with its compiled request schema. */
function operationsOf(doc: Json): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc['paths'] as Json)) {
    for (const [method, op] of Object.entries(item as Json)) {
      const o = op as Json;
      const key = `${method.toUpperCase()} ${path}`;
      const body = ((o['requestBody'] as Json | undefined)?.['content'] as Json | undefined)?.['application/json'] as Json | undefined;
      const params = (o['parameters'] ?? []) as Json[];
      if (body) {
        const schema = body['schema'] as Json;
        const examples = Array.isArray(schema['examples']) ? (schema['examples'] as unknown[]).map((b) => ({ body: b })) : [];
        ops.push({ key, method, path, check: TypeCompiler.Compile(toTypeBox(schema, doc)), kind: 'body', pathParams: [], schemaExamples: examples });
      } else if (params.length > 0) {
        const properties = Object.fromEntries(params.map((p) => [p['name'], p['schema']]));
        const required = params.filter((p) => p['required'] === true).map((p) => String(p['name']));
        const schema = { type: 'object', properties, required };
        const pathParams = params.filter((p) => p['in'] === 'path').map((p) => String(p['name']));
        // A parameter's examples, each with the path parameters of the route's first valid example.
        const base = EXAMPLES[key]?.valid[0]?.params ?? {};
        const schemaExamples = params.flatMap((p) => {
          const ex = (p['schema'] as Json)['examples'];
          return Array.isArray(ex) ? ex.map((v) => ({ params: { ...base, [String(p['name'])]: v } })) : [];
        });
        ops.push({ key, method, path, check: TypeCompiler.Compile(toTypeBox(schema, doc)), kind: 'params', pathParams, schemaExamples });
      }
    }
  }
  return ops;
}

/** The request an example makes: path parameters percent-encoded into the path, the others in the query (an array repeats the name). */
function requestOf(op: Operation, ex: Example): { url: string; init: { method: string; headers?: Record<string, string>; body?: string } } {
  let url = op.path;
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(ex.params ?? {})) {
    if (op.pathParams.includes(name)) url = url.replace(`{${name}}`, encodeURIComponent(String(value)));
    else for (const v of Array.isArray(value) ? value : [value]) query.append(name, String(v));
  }
  const qs = query.toString();
  if (ex.body === undefined) return { url: qs ? `${url}?${qs}` : url, init: { method: op.method.toUpperCase() } };
  return { url, init: { method: op.method.toUpperCase(), headers: { 'content-type': 'application/json' }, body: JSON.stringify(ex.body) } };
}

describe('the OpenAPI document and the handlers agree (gateway and ingest on the in-memory bus)', () => {
  const bus = new InMemoryBus({ defaultPartitions: 3 });
  let ingest: RunningService;
  let gateway: RunningService;
  let gw: string;
  let app: Express | undefined;
  let doc: Json;
  let ops: Operation[];
  /** The gateway, with its Express app kept for the route listing. */
  const gatewayKeepingApp: ServiceFactory<GatewayConfig> = async (ctx) => {
    const instance = await createGateway(ctx);
    return {
      ...instance,
      routes(a) {
        app = a;
        instance.routes?.(a);
      },
    };
  };

  beforeAll(async () => {
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const base = { HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent' };
    ingest = await startService(createIngest, readIngestConfig({ ...base, INGEST_VALIDATOR: 'off' }, { requireBrokers: false }), bus);
    // No predictor listens on PREDICTOR_GRPC_ADDR: predictions of valid bodies are answered 503, never 400.
    const gatewayEnv = { ...base, INGEST_URL: `http://127.0.0.1:${ingest.port}`, PREDICTOR_GRPC_ADDR: `127.0.0.1:${await freePort()}`, SYNC_WAIT_MS: '0' };
    gateway = await startService(gatewayKeepingApp, readGatewayConfig(gatewayEnv, { requireBrokers: false }), bus);
    gw = `http://127.0.0.1:${gateway.port}`;
    doc = (await httpRequest(`${gw}/openapi.json`)).json as Json;
    ops = operationsOf(doc);
  });
  afterAll(async () => {
    await gateway.stop();
    await ingest.stop();
    await bus.close();
  });

  it('lists every /pipeline route the gateway serves, and serves every route it lists', () => {
    const served = new Set<string>();
    for (const layer of app!.router.stack as unknown as Array<{ route?: { path: string | string[]; methods: Record<string, boolean> } }>) {
      if (!layer.route) continue;
      for (const p of Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path]) {
        if (!p.startsWith('/pipeline')) continue;
        const templated = p.replace(/:([A-Za-z_]\w*)/g, '{$1}');
        for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== '_all') served.add(`${m.toUpperCase()} ${templated}`);
      }
    }
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(doc['paths'] as Json)) for (const method of Object.keys(item as Json)) documented.add(`${method.toUpperCase()} ${path}`);
    expect([...documented].sort()).toEqual([...served].sort());
  });

  it('has hand-picked valid and invalid examples for every operation with a body or parameters, classified as the published schema says', () => {
    expect(ops.map((o) => o.key).sort()).toEqual(Object.keys(EXAMPLES).sort());
    const misfiled: string[] = [];
    for (const op of ops) {
      const { valid, invalid } = EXAMPLES[op.key]!;
      const pathOnly = op.kind === 'params' && Object.keys(valid[0]?.params ?? {}).every((k) => op.pathParams.includes(k)) && op.pathParams.length > 0;
      expect([op.key, valid.length > 0, invalid.length > 0 || pathOnly]).toEqual([op.key, true, true]);
      const value = (ex: Example) => (op.kind === 'body' ? ex.body : ex.params);
      for (const ex of valid) if (!op.check!.Check(value(ex))) misfiled.push(`${op.key} valid example fails the schema: ${JSON.stringify(value(ex))} ${JSON.stringify([...op.check!.Errors(value(ex))].slice(0, 3).map((e) => `${e.path} ${e.message}`))}`);
      for (const ex of invalid) if (op.check!.Check(value(ex))) misfiled.push(`${op.key} invalid example passes the schema: ${JSON.stringify(value(ex))}`);
    }
    expect(misfiled).toEqual([]);
  });

  it('answers 400 exactly for the examples invalid under the published schema (hand-picked and the schemas\' own examples)', async () => {
    const disagreements: string[] = [];
    for (const op of ops) {
      const { valid, invalid } = EXAMPLES[op.key]!;
      for (const ex of [...valid, ...invalid, ...op.schemaExamples]) {
        const schemaValid = op.check!.Check(op.kind === 'body' ? ex.body : ex.params);
        const { url, init } = requestOf(op, ex);
        const r = await httpRequest(`${gw}${url}`, init);
        if ((r.status === 400) === schemaValid) {
          disagreements.push(`${init.method} ${url} ${init.body ?? ''}: schema says ${schemaValid ? 'valid' : 'invalid'}, handler answered ${r.status} ${JSON.stringify(r.json ?? '').slice(0, 200)}`);
        }
      }
    }
    expect(disagreements).toEqual([]);
  }, 60_000);

  it('publishes the stats parameters and answers from the handlers\' schemas (late_events, future_events, window_seconds, paging, accuracy, completeness)', () => {
    const paths = doc['paths'] as Record<string, Record<string, Json>>;
    const names = (key: string) => ((paths[key]!['get']!['parameters'] ?? []) as Json[]).map((p) => `${String(p['in'])}:${String(p['name'])}`);
    expect(names('/pipeline/stats/{metric_name}')).toEqual(['path:metric_name', 'query:group']);
    expect(names('/pipeline/all-stats')).toEqual(['query:prefix', 'query:limit', 'query:cursor']);
    expect(names('/pipeline/topk/{dimension}')).toEqual(['path:dimension', 'query:k']);
    const answer = (key: string) => ((((paths[key]!['get']!['responses'] as Json)['200'] as Json)['content'] as Json)['application/json'] as Json)['schema'] as Json;
    expect(answer('/pipeline/stats/{metric_name}')['required']).toEqual(
      expect.arrayContaining(['metric_name', 'stats', 'groups', 'window_seconds', 'total_events', 'late_events', 'future_events', 'timestamp', 'accuracy', 'completeness']),
    );
    expect(answer('/pipeline/topk/{dimension}')['required']).toEqual(['dimension', 'items', 'window_seconds', 'accuracy', 'completeness']);
    expect(answer('/pipeline/rates')['required']).toEqual(['topics', 'metrics', 'window_seconds', 'completeness']);
    // Every reliability field is published with a description.
    const props = (schema: Json, ...path: string[]) => path.reduce((s, key) => (s['properties'] as Record<string, Json>)[key]!, schema);
    const described = (schema: Json) => Object.entries(schema['properties'] as Record<string, Json>).map(([name, p]) => [name, typeof p['description']]);
    const shared = ['window_start', 'window_end', 'watermark', 'snapshot_age_ms', 'partitions_reported', 'partitions_total'].map((name) => [name, 'string']);
    const metricCompleteness = [...shared, ...['late_events', 'future_events', 'late_events_in_window', 'future_events_in_window'].map((name) => [name, 'string'])];
    const stats = answer('/pipeline/stats/{metric_name}');
    expect(described(props(stats, 'accuracy'))).toEqual([['percentile_relative_error', 'string']]);
    expect(described(props(stats, 'completeness'))).toEqual(metricCompleteness);
    const entry = Object.values(answer('/pipeline/all-stats')['patternProperties'] as Record<string, Json>)[0]!; // a Record: one pattern for every name
    expect([described(props(entry, 'accuracy')), described(props(entry, 'completeness'))]).toEqual([[['percentile_relative_error', 'string']], metricCompleteness]);
    const topk = answer('/pipeline/topk/{dimension}');
    expect([described(props(topk, 'accuracy')), described(props(topk, 'completeness'))]).toEqual([[['max_overcount', 'string']], shared]);
  });
});

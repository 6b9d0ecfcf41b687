// A small, strict Kustomize renderer for deploy/k8s (no kubectl/kustomize binary on these machines).
// It supports exactly the kustomization fields this repo uses and throws on any other, so a
// manifest can never rely on a feature the test silently ignores:
//   resources (files and directories), patches ({path} strategic-merge patches, target from the
//   patch's kind + name), namespace, images (name -> newName/newTag).
// Strategic merge: maps merge recursively; lists of containers/env/volumes/volumeMounts/ports merge
// by their key (name, or mountPath/containerPort); every other list is replaced whole. For custom
// resources kustomize falls back to JSON merge patch, where all lists are replaced: same result for
// the lists this repo patches (KafkaNodePool storage.volumes).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
};

type Kustomization = {
  apiVersion?: string;
  kind?: string;
  resources?: string[];
  patches?: { path: string }[];
  namespace?: string;
  images?: { name: string; newName?: string; newTag?: string }[];
};

const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'patches', 'namespace', 'images']);
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PersistentVolume', 'StorageClass']);
/** Merge keys of the strategic-merge lists we patch (from the Kubernetes OpenAPI patchMergeKey). */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  ports: 'containerPort',
};
const CORE_GROUPS = /^(v1|apps\/v1|batch\/v1|policy\/v1|autoscaling\/v2|networking\.k8s\.io\/v1|rbac\.authorization\.k8s\.io\/v1)$/;

/** Parses every YAML document of a file; fails on YAML errors and on empty documents. */
export function readYamlDocuments(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  return docs.map((doc, i) => {
    if (doc.errors.length) throw new Error(`${file} document ${i + 1}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) throw new Error(`${file} document ${i + 1} is empty`);
    return value;
  });
}

function asObject(value: unknown, where: string): K8sObject {
  const o = value as K8sObject;
  if (typeof o !== 'object' || o === null || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string') {
    throw new Error(`${where}: not a Kubernetes object (needs apiVersion, kind and metadata.name)`);
  }
  return o;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Strategic-merge `patch` into `target`, returning a new value; `target` is left unchanged. */
export function strategicMerge(target: unknown, patch: unknown, key?: string): unknown {
  if (Array.isArray(patch)) {
    const mergeKey = key ? MERGE_KEYS[key] : undefined;
    if (!mergeKey || !Array.isArray(target)) return structuredClone(patch);
    const result = target.map((item) => structuredClone(item) as Record<string, unknown>);
    for (const p of patch as Record<string, unknown>[]) {
      const i = result.findIndex((t) => t[mergeKey] === p[mergeKey]);
      if (i >= 0) result[i] = strategicMerge(result[i], p) as Record<string, unknown>;
      else result.push(structuredClone(p));
    }
    return result;
  }
  if (isPlainObject(patch) && isPlainObject(target)) {
    const result: Record<string, unknown> = structuredClone(target);
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete result[k];
      else result[k] = k in result ? strategicMerge(result[k], v, k) : structuredClone(v);
    }
    return result;
  }
  return structuredClone(patch);
}

function splitImage(image: string): { name: string; tag?: string } {
  const at = image.indexOf('@');
  if (at >= 0) return { name: image.slice(0, at) };
  const colon = image.lastIndexOf(':');
  return colon > image.lastIndexOf('/') ? { name: image.slice(0, colon), tag: image.slice(colon + 1) } : { name: image };
}

function applyImages(obj: K8sObject, images: NonNullable<Kustomization['images']>): void {
  const podSpec = (obj as { spec?: { template?: { spec?: { containers?: { image: string }[]; initContainers?: { image: string }[] } } } }).spec?.template?.spec;
  for (const c of [...(podSpec?.containers ?? []), ...(podSpec?.initContainers ?? [])]) {
    const { name, tag } = splitImage(c.image);
    const rule = images.find((i) => i.name === name);
    if (!rule) continue;
    const newTag = rule.newTag ?? tag;
    c.image = `${rule.newName ?? name}${newTag ? `:${newTag}` : ''}`;
  }
}

/** Renders the kustomization in `dir` (like `kustomize build dir`) into a list of objects. */
export function renderKustomization(dir: string): K8sObject[] {
  const file = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!file) throw new Error(`${dir}: no kustomization.yaml`);
  const [raw] = readYamlDocuments(file) as Kustomization[];
  const unsupported = Object.keys(raw).filter((k) => !SUPPORTED.has(k));
  if (unsupported.length) throw new Error(`${file}: renderer does not support ${unsupported.join(', ')}`);
  if (raw.apiVersion !== 'kustomize.config.k8s.io/v1beta1' || raw.kind !== 'Kustomization') {
    throw new Error(`${file}: expected apiVersion kustomize.config.k8s.io/v1beta1 and kind Kustomization`);
  }

  let objects: K8sObject[] = [];
  for (const entry of raw.resources ?? []) {
    const path = resolve(dir, entry);
    if (!existsSync(path)) throw new Error(`${file}: resource ${entry} does not exist`);
    if (statSync(path).isDirectory()) objects.push(...renderKustomization(path));
    else objects.push(...readYamlDocuments(path).map((d, i) => asObject(d, `${path} document ${i + 1}`)));
  }

  for (const { path, ...rest } of raw.patches ?? []) {
    if (Object.keys(rest).length) throw new Error(`${file}: patch ${path}: only {path} patches are supported`);
    const patchFile = resolve(dir, path);
    for (const [i, doc] of readYamlDocuments(patchFile).entries()) {
      const p = asObject(doc, `${patchFile} document ${i + 1}`);
      const matches = objects.filter((o) => o.kind === p.kind && o.metadata.name === p.metadata.name && o.apiVersion === p.apiVersion);
      if (matches.length !== 1) throw new Error(`${patchFile}: patch for ${p.apiVersion} ${p.kind}/${p.metadata.name} matches ${matches.length} objects`);
      objects = objects.map((o) => (o === matches[0] ? (strategicMerge(o, p) as K8sObject) : o));
    }
  }

  if (raw.namespace) {
    for (const o of objects) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = raw.namespace;
  }
  if (raw.images) for (const o of objects) applyImages(o, raw.images);

  const seen = new Set<string>();
  for (const o of objects) {
    const id = `${o.apiVersion} ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    if (seen.has(id)) throw new Error(`${dir}: duplicate object ${id}`);
    seen.add(id);
  }
  return objects;
}

/** True for built-in Kubernetes API groups (validated with kubernetes-models), false for CRDs. */
export function isCoreKind(o: K8sObject): boolean {
  return CORE_GROUPS.test(o.apiVersion);
}


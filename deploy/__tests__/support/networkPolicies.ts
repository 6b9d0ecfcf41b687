// Evaluates rendered NetworkPolicies (networking.k8s.io/v1) the way Kubernetes does, over a list of
// named workloads, and answers which connections "from → to:port/protocol" they allow. A connection
// is allowed when the source's egress and the destination's ingress both allow it; a pod that no
// policy selects for a direction is not isolated in it, and pods outside the policies' namespace
// are governed by their own namespace's policies, which are not ours: they allow everything here.
// ipBlock peers match only endpoints outside the pod network (Kubernetes leaves ipBlock on pod IPs
// to the CNI). Named ports are refused rather than guessed.
import type { K8sObject } from './renderKustomization';

type Requirement = { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] };
export type LabelSelector = { matchLabels?: Record<string, string>; matchExpressions?: Requirement[] };
type Peer = { podSelector?: LabelSelector; namespaceSelector?: LabelSelector; ipBlock?: { cidr: string; except?: string[] } };
type PolicyPort = { protocol?: string; port?: number | string; endPort?: number };
type Rule = { from?: Peer[]; to?: Peer[]; ports?: PolicyPort[] };
export type NetworkPolicy = K8sObject & {
  spec: { podSelector: LabelSelector; policyTypes?: ('Ingress' | 'Egress')[]; ingress?: Rule[]; egress?: Rule[] };
};

/** A pod (namespace + labels) or an endpoint outside the pod network (ip). */
export type Workload = { name: string; namespace?: string; namespaceLabels?: Record<string, string>; labels?: Record<string, string>; ip?: string };

export function selects(selector: LabelSelector, labels: Record<string, string> = {}): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const r of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, r.key);
    const ok =
      r.operator === 'In' ? has && (r.values ?? []).includes(labels[r.key]!)
      : r.operator === 'NotIn' ? !has || !(r.values ?? []).includes(labels[r.key]!)
      : r.operator === 'Exists' ? has
      : !has;
    if (!ok) return false;
  }
  return true;
}

function ipv4(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${ip}`);
  return parts.reduce((a, p) => a * 256 + p, 0);
}
function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const n = Number(bits);
  const size = 2 ** (32 - n);
  return Math.floor(ipv4(ip) / size) === Math.floor(ipv4(base!) / size);
}

function peerMatches(peer: Peer, policyNamespace: string, w: Workload): boolean {
  if (peer.ipBlock) return w.ip !== undefined && inCidr(w.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c) => inCidr(w.ip!, c));
  if (w.namespace === undefined) return false; // pod selectors never match endpoints outside the pod network
  const nsOk = peer.namespaceSelector ? selects(peer.namespaceSelector, w.namespaceLabels) : w.namespace === policyNamespace;
  return nsOk && (peer.podSelector ? selects(peer.podSelector, w.labels) : true);
}

function portMatches(ports: PolicyPort[] | undefined, port: number, protocol: string): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if (typeof p.port === 'string') throw new Error(`named port "${p.port}": use port numbers in NetworkPolicies`);
    if ((p.protocol ?? 'TCP') !== protocol) return false;
    if (p.port === undefined) return true;
    return p.endPort === undefined ? p.port === port : port >= p.port && port <= p.endPort;
  });
}

const types = (p: NetworkPolicy) => p.spec.policyTypes ?? (p.spec.egress ? ['Ingress', 'Egress'] : ['Ingress']);

/** Whether `direction` allows `w` to talk to `peer` on port/protocol under `policies` (all in `namespace`). */
function allowed(policies: NetworkPolicy[], namespace: string, direction: 'Ingress' | 'Egress', w: Workload, peer: Workload, port: number, protocol: string): boolean {
  if (w.namespace !== namespace) return true; // not governed by these policies
  const selecting = policies.filter((p) => types(p).includes(direction) && selects(p.spec.podSelector, w.labels));
  if (selecting.length === 0) return true; // not isolated
  return selecting.some((p) =>
    ((direction === 'Ingress' ? p.spec.ingress : p.spec.egress) ?? []).some((rule) => {
      const peers = direction === 'Ingress' ? rule.from : rule.to;
      return (!peers || peers.length === 0 || peers.some((x) => peerMatches(x, namespace, peer))) && portMatches(rule.ports, port, protocol);
    }),
  );
}

/** Every port/protocol that appears in the policies, plus `extra` (e.g. the containers' ports). */
export function portsOf(policies: NetworkPolicy[], extra: string[] = []): string[] {
  const found = new Set(extra);
  for (const p of policies) for (const r of [...(p.spec.ingress ?? []), ...(p.spec.egress ?? [])]) for (const x of r.ports ?? []) if (typeof x.port === 'number') found.add(`${x.port}/${x.protocol ?? 'TCP'}`);
  return [...found].sort();
}

/**
 * The connections the policies allow among `workloads` on `ports` ("8080/TCP"), as sorted
 * "from → to:8080/TCP" lines. Pairs where neither side is in `namespace` are left out.
 */
export function allowedPaths(policies: NetworkPolicy[], namespace: string, workloads: Workload[], ports: string[]): string[] {
  for (const p of policies) if ((p.metadata.namespace ?? namespace) !== namespace) throw new Error(`NetworkPolicy ${p.metadata.name} is in ${p.metadata.namespace}, expected ${namespace}`);
  const lines: string[] = [];
  for (const from of workloads) {
    for (const to of workloads) {
      if (from.namespace !== namespace && to.namespace !== namespace) continue;
      for (const pp of ports) {
        const [port, protocol] = pp.split('/') as [string, string];
        if (allowed(policies, namespace, 'Egress', from, to, Number(port), protocol) && allowed(policies, namespace, 'Ingress', to, from, Number(port), protocol)) {
          lines.push(`${from.name} → ${to.name}:${pp}`);
        }
      }
    }
  }
  return lines.sort();
}

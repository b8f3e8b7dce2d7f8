import type { PolicyRule, Pod } from '@pilot/api';
import type { UserInfo } from '../auth.js';
import { NO_OPINION, type Attributes, type Authorizer, type AuthorizerResult } from './attributes.js';
import { rulesAllow } from './rules.js';

/**
 * The Node authorizer (plugin/pkg/auth/authorizer/node): a kubelet, user
 * `system:node:<name>` in group `system:nodes`, may read only the Secrets
 * and ConfigMaps that pods bound to it use, only its own Lease in
 * kube-node-lease, and otherwise what NODE_RULES list. Which Node and which
 * pods it may write is the NodeRestriction admission's part
 * (admission/node-restriction.ts), since the object is needed for that.
 * Upstream keeps a graph of pods → secrets; here the pods bound to the node
 * are asked for when a node reads a secret or configmap (a rare request).
 */

export const NODES_GROUP = 'system:nodes';
export const NODE_USER_PREFIX = 'system:node:';
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

/** The node's name when the user is a node's identity, else undefined. */
export function nodeIdentity(user: Pick<UserInfo, 'name' | 'groups'>): string | undefined {
  if (!user.groups.includes(NODES_GROUP) || !user.name.startsWith(NODE_USER_PREFIX)) return undefined;
  return user.name.slice(NODE_USER_PREFIX.length);
}

export interface NodePods {
  /** The pods in `namespace` whose spec.nodeName is `nodeName`. */
  podsOnNode(nodeName: string, namespace: string): Promise<Pod[]>;
}

const rule = (verbs: string[], apiGroups: string[], resources: string[]): PolicyRule => ({ verbs, apiGroups, resources });

/** What every node may do (bootstrap policy's NodeRules, for the resources pilot serves). */
export const NODE_RULES: readonly PolicyRule[] = Object.freeze([
  rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
  rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews', 'localsubjectaccessreviews']),
  rule(['get', 'list', 'watch'], [''], ['services']),
  rule(['create', 'get', 'list', 'watch'], [''], ['nodes']),
  rule(['update', 'patch'], [''], ['nodes/status']),
  rule(['update', 'patch'], [''], ['nodes']),
  rule(['create', 'update', 'patch'], ['', 'events.k8s.io'], ['events']),
  rule(['get', 'list', 'watch'], [''], ['pods']),
  // Mirror pods of static pods, and the removal of pods that finished terminating.
  rule(['create', 'delete'], [''], ['pods']),
  rule(['update', 'patch'], [''], ['pods/status']),
  rule(['create'], [''], ['pods/eviction']),
  rule(['get'], ['', 'discovery.k8s.io'], ['endpoints', 'endpointslices']),
]);

const at = (o: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((x, k) => (x !== null && typeof x === 'object' ? (x as Record<string, unknown>)[k] : undefined), o);
const items = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Which Secrets and ConfigMaps a pod uses: volumes (projected too), env and envFrom, image pull secrets. */
export function podReferences(pod: Pod): { secrets: Set<string>; configMaps: Set<string> } {
  const secrets = new Set<string>();
  const configMaps = new Set<string>();
  const add = (set: Set<string>, v: unknown) => {
    if (typeof v === 'string' && v !== '') set.add(v);
  };
  const spec = pod.spec;
  for (const s of items(at(spec, 'imagePullSecrets'))) add(secrets, at(s, 'name'));
  for (const v of items(at(spec, 'volumes'))) {
    add(secrets, at(v, 'secret', 'secretName'));
    add(configMaps, at(v, 'configMap', 'name'));
    for (const src of items(at(v, 'projected', 'sources'))) {
      add(secrets, at(src, 'secret', 'name'));
      add(configMaps, at(src, 'configMap', 'name'));
    }
  }
  for (const c of [...items(at(spec, 'containers')), ...items(at(spec, 'initContainers')), ...items(at(spec, 'ephemeralContainers'))]) {
    for (const e of items(at(c, 'env'))) {
      add(secrets, at(e, 'valueFrom', 'secretKeyRef', 'name'));
      add(configMaps, at(e, 'valueFrom', 'configMapKeyRef', 'name'));
    }
    for (const f of items(at(c, 'envFrom'))) {
      add(secrets, at(f, 'secretRef', 'name'));
      add(configMaps, at(f, 'configMapRef', 'name'));
    }
  }
  return { secrets, configMaps };
}

const deny = (reason: string): AuthorizerResult => ({ decision: 'noOpinion', reason });

export class NodeAuthorizer implements Authorizer {
  constructor(private readonly pods: NodePods) {}

  async authorize(a: Attributes): Promise<AuthorizerResult> {
    const node = nodeIdentity(a.user);
    if (node === undefined) return NO_OPINION;
    if (node === '') return deny(`unknown node for user "${a.user.name}"`);
    if (a.resourceRequest) {
      if (a.apiGroup === '' && (a.resource === 'secrets' || a.resource === 'configmaps')) return this.readReferenced(node, a);
      if (a.apiGroup === 'coordination.k8s.io' && a.resource === 'leases') return authorizeLease(node, a);
    }
    return rulesAllow(a, NODE_RULES) ? { decision: 'allow', reason: '' } : NO_OPINION;
  }

  private async readReferenced(node: string, a: Attributes): Promise<AuthorizerResult> {
    if (a.verb !== 'get' && a.verb !== 'list' && a.verb !== 'watch') return deny('can only read resources of this type');
    if (a.subresource) return deny('cannot read subresource');
    if (!a.namespace) return deny('can only read namespaced object of this type');
    if (!a.name) return deny('No Object name found');
    const pods = await this.pods.podsOnNode(node, a.namespace);
    const used = pods.some((p) => {
      const refs = podReferences(p);
      return (a.resource === 'secrets' ? refs.secrets : refs.configMaps).has(a.name);
    });
    return used ? { decision: 'allow', reason: '' } : deny(`no relationship found between node '${node}' and this object`);
  }
}

function authorizeLease(node: string, a: Attributes): AuthorizerResult {
  if (!['get', 'create', 'update', 'patch', 'delete'].includes(a.verb)) return deny('can only get, create, update, patch, or delete a node lease');
  if (a.namespace !== NODE_LEASE_NAMESPACE) return deny(`can only access leases in the "${NODE_LEASE_NAMESPACE}" system namespace`);
  // A create carries its name in the body: NodeRestriction checks it.
  if (a.verb !== 'create' && a.name !== node) return deny('can only access node lease with the same name as the requesting node');
  return { decision: 'allow', reason: '' };
}

import { resourceByName, type Pod } from '@pilot/api';
import type { GenericRegistry } from '../registry/generic-registry.js';
import { forbiddenError } from './forbidden.js';
import type { Attributes, Authorizer } from './attributes.js';
import { NodeAuthorizer, type NodePods } from './node.js';
import { privilegedGroups, type RbacAuthorizer } from './rbac.js';
import { alwaysAllow, alwaysDeny, unionAuthorizer, type AuthorizationMode } from './union.js';

/**
 * The secure port's authorizer from `--authorization-mode`: system:masters
 * first (always allowed, as upstream), then each mode in the order given.
 */
export function buildAuthorizer(modes: readonly AuthorizationMode[], deps: { rbac: RbacAuthorizer; nodePods: NodePods }): Authorizer {
  if (modes.length === 1 && modes[0] === 'AlwaysAllow') return alwaysAllow;
  const chain: Authorizer[] = [privilegedGroups];
  for (const m of modes) {
    if (m === 'AlwaysAllow') chain.push(alwaysAllow);
    else if (m === 'AlwaysDeny') chain.push(alwaysDeny);
    else if (m === 'Node') chain.push(new NodeAuthorizer(deps.nodePods));
    else chain.push(deps.rbac);
  }
  return unionAuthorizer(chain);
}

/** Throws the upstream 403 unless the authorizer allows. */
export async function authorizeOrThrow(authorizer: Authorizer, a: Attributes): Promise<void> {
  const r = await authorizer.authorize(a);
  if (r.decision !== 'allow') throw forbiddenError(a, r.reason);
}

/** A node's pods in a namespace, read from the registry when a node asks for a Secret or ConfigMap. */
export function registryNodePods(registry: GenericRegistry): NodePods {
  const pods = resourceByName('pods')!;
  return {
    podsOnNode: async (nodeName, namespace) => (await registry.list(pods, namespace, { fieldSelector: `spec.nodeName=${nodeName}` })).items as Pod[],
  };
}

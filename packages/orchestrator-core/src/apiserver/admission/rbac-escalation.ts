import type { ClusterRole, PolicyRule, RoleBinding, RoleRef } from '@pilot/api';
import { resourceAttributes, type Authorizer } from '../authorization/attributes.js';
import { SYSTEM_MASTERS, type RbacAuthorizer } from '../authorization/rbac.js';
import { compactRule, uncoveredRules } from '../authorization/rules.js';
import { stableStringify, kindLabel } from '../registry/strategy.js';
import { forbidden } from '../status.js';
import type { AdmissionAttributes, AdmissionPlugin } from './admission.js';

/**
 * RBAC's privilege-escalation check (pkg/registry/rbac/*\/policybased): a
 * user may write a Role or ClusterRole only with rules it holds itself,
 * unless it may `escalate` roles; and may bind a role only if it holds
 * everything the role grants, unless it may `bind` that role. system:masters
 * is exempt. An update that leaves the rules (or the subjects and role) as
 * they were is not checked again.
 */

const RBAC = { group: 'rbac.authorization.k8s.io', version: 'v1' };
const FULL_AUTHORITY: PolicyRule[] = [
  { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
  { verbs: ['*'], nonResourceURLs: ['*'] },
];

export function rbacEscalation(authorizer: () => Authorizer, rbac: RbacAuthorizer): AdmissionPlugin {
  const allowedTo = async (a: AdmissionAttributes, verb: string, resource: string, name: string, namespace: string) =>
    (await authorizer().authorize(resourceAttributes(a.user, verb, { ...RBAC, resource }, { namespace, name }))).decision === 'allow';

  const confirm = (a: AdmissionAttributes, namespace: string, wanted: readonly PolicyRule[], extraError?: string) => {
    const held = rbac.rulesFor(a.user, namespace);
    const missing = uncoveredRules(held.rules, wanted);
    if (missing.length === 0 && !extraError) return;
    let msg = extraError ?? `user "${a.user.name}" (groups=[${a.user.groups.map((g) => JSON.stringify(g)).join(' ')}]) is attempting to grant RBAC permissions not currently held:\n${missing.map(compactRule).join('\n')}`;
    if (!extraError && held.errors.length) msg += `; resolution errors: [${held.errors.join(' ')}]`;
    throw forbidden(`${kindLabel(a.resource)} "${a.name || a.object?.metadata.name || ''}" is forbidden: ${msg}`, {
      name: a.name || a.object?.metadata.name || '',
      group: RBAC.group,
      kind: a.resource.resource,
    });
  };

  return async (a) => {
    if (a.resource.group !== RBAC.group || a.operation === 'DELETE' || !a.object) return;
    if (a.user.groups.includes(SYSTEM_MASTERS)) return;
    const name = a.name || a.object.metadata.name || '';
    const namespace = a.resource.namespaced ? a.namespace : '';
    switch (a.resource.resource) {
      case 'roles':
      case 'clusterroles': {
        const role = a.object as ClusterRole;
        const old = a.oldObject as ClusterRole | undefined;
        if (old && stableStringify(old.rules ?? []) === stableStringify(role.rules ?? []) && stableStringify(old.aggregationRule ?? null) === stableStringify(role.aggregationRule ?? null)) return;
        if (await allowedTo(a, 'escalate', a.resource.resource, name, namespace)) return;
        if (role.aggregationRule && uncoveredRules(rbac.rulesFor(a.user, '').rules, FULL_AUTHORITY).length > 0)
          confirm(a, namespace, [], 'must have cluster-admin privileges to use the aggregationRule');
        confirm(a, namespace, role.rules ?? []);
        return;
      }
      case 'rolebindings':
      case 'clusterrolebindings': {
        const b = a.object as RoleBinding;
        const old = a.oldObject as RoleBinding | undefined;
        if (old && stableStringify(old.roleRef) === stableStringify(b.roleRef) && stableStringify(old.subjects ?? []) === stableStringify(b.subjects ?? [])) return;
        const ref: RoleRef = b.roleRef;
        const refResource = ref.kind === 'Role' ? 'roles' : 'clusterroles';
        if (await allowedTo(a, 'bind', refResource, ref.name, namespace)) return;
        const got = rbac.roleRefRules(ref, namespace);
        confirm(a, namespace, got.rules, got.error);
        return;
      }
    }
  };
}

import type { ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef } from '@pilot/api';
import type { UserInfo } from '../auth.js';
import { NO_OPINION, type Attributes, type Authorizer, type AuthorizerResult } from './attributes.js';
import { appliesTo, ruleAllows } from './rules.js';

/**
 * The RBAC authorizer (plugin/pkg/auth/authorizer/rbac): a request is
 * allowed when a ClusterRoleBinding, or a RoleBinding in the request's
 * namespace, binds the user to a role with a rule that allows it. It never
 * denies, only has no opinion; a binding to a role that does not exist is
 * named in the reason. The objects come from a PolicySource (the
 * apiserver's in-memory copy, policy-cache.ts; plain lists in tests).
 */

export interface PolicySource {
  clusterRoleBindings(): Iterable<ClusterRoleBinding>;
  roleBindings(namespace: string): Iterable<RoleBinding>;
  /** A ClusterRole's rules, its aggregated ones included; undefined when it does not exist. */
  clusterRoleRules(name: string): readonly PolicyRule[] | undefined;
  role(namespace: string, name: string): Role | undefined;
}

export class RbacAuthorizer implements Authorizer {
  constructor(private readonly source: PolicySource) {}

  authorize(a: Attributes): AuthorizerResult {
    const errors: string[] = [];
    let allowed = false;
    this.visitRules(a.user, a.namespace, (rules) => {
      if (rules.some((r) => ruleAllows(a, r))) allowed = true;
      return allowed;
    }, errors);
    if (allowed) return { decision: 'allow', reason: '' };
    return errors.length ? { decision: 'noOpinion', reason: `RBAC: ${errors.join(', ')}` } : NO_OPINION;
  }

  /** Every rule the user holds in `namespace` ("" = cluster-wide only), for the escalation check; missing roles in `errors`. */
  rulesFor(user: UserInfo, namespace: string): { rules: PolicyRule[]; errors: string[] } {
    const rules: PolicyRule[] = [];
    const errors: string[] = [];
    this.visitRules(user, namespace, (r) => {
      rules.push(...r);
      return false;
    }, errors);
    return { rules, errors };
  }

  /** The rules a role reference grants in `namespace` (GetRoleReferenceRules), or an error naming the missing role. */
  roleRefRules(ref: RoleRef, namespace: string): { rules: readonly PolicyRule[]; error?: string } {
    if (ref.kind === 'ClusterRole') {
      const rules = this.source.clusterRoleRules(ref.name);
      return rules ? { rules } : { rules: [], error: `clusterrole.rbac.authorization.k8s.io "${ref.name}" not found` };
    }
    if (ref.kind === 'Role') {
      const role = this.source.role(namespace, ref.name);
      return role ? { rules: role.rules ?? [] } : { rules: [], error: `role.rbac.authorization.k8s.io "${ref.name}" not found` };
    }
    return { rules: [], error: `unsupported role reference kind: "${ref.kind}"` };
  }

  /** Cluster bindings first, then the namespace's; stops when `visit` returns true. */
  private visitRules(user: UserInfo, namespace: string, visit: (rules: readonly PolicyRule[]) => boolean, errors: string[]): void {
    for (const b of this.source.clusterRoleBindings()) {
      if (!(b.subjects ?? []).some((s) => appliesTo(user, s, ''))) continue;
      if (b.roleRef?.kind !== 'ClusterRole') continue;
      const got = this.roleRefRules(b.roleRef, '');
      if (got.error) errors.push(got.error);
      if (visit(got.rules)) return;
    }
    if (namespace === '') return;
    for (const b of this.source.roleBindings(namespace)) {
      if (!(b.subjects ?? []).some((s) => appliesTo(user, s, namespace))) continue;
      const got = this.roleRefRules(b.roleRef, namespace);
      if (got.error) errors.push(got.error);
      if (visit(got.rules)) return;
    }
  }
}

/** Members of system:masters may do anything, before any other authorizer is asked (upstream's privileged-groups authorizer). */
export const SYSTEM_MASTERS = 'system:masters';

export const privilegedGroups: Authorizer = {
  authorize: (a) => (a.user.groups.includes(SYSTEM_MASTERS) ? { decision: 'allow', reason: '' } : NO_OPINION),
};

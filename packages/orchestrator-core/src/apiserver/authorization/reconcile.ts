import { resourceByName, type ClusterRole, type ClusterRoleBinding, type KubeObject } from '@pilot/api';
import type { Logger } from '@pilot/common';
import type { ObjectAccess } from '../registry/access.js';
import { stableStringify } from '../registry/strategy.js';
import { StatusError } from '../status.js';
import { bootstrapClusterRoleBindings, bootstrapClusterRoles } from './bootstrap-policy.js';
import { uncoveredRules } from './rules.js';

/**
 * The default roles and bindings at every start, as kube-apiserver's
 * rbac/bootstrap-roles post-start hook does: a missing one is created; an
 * existing one gets the rules or subjects it lacks added, unless it is
 * annotated `rbac.authorization.kubernetes.io/autoupdate: "false"` (an
 * operator's own version stays as it is).
 */

const AUTOUPDATE = 'rbac.authorization.kubernetes.io/autoupdate';

async function getOptional(objects: ObjectAccess, plural: string, name: string): Promise<KubeObject | undefined> {
  try {
    return await objects.get(resourceByName(plural)!, undefined, name);
  } catch (err) {
    if (err instanceof StatusError && err.reason === 'NotFound') return undefined;
    throw err;
  }
}

async function createOrKeep(objects: ObjectAccess, plural: string, obj: KubeObject): Promise<boolean> {
  try {
    await objects.create(resourceByName(plural)!, undefined, obj, { events: false });
    return true;
  } catch (err) {
    if (err instanceof StatusError && err.reason === 'AlreadyExists') return false;
    throw err;
  }
}

export async function reconcileBootstrapPolicy(objects: ObjectAccess, log: Logger): Promise<void> {
  let created = 0;
  let updated = 0;
  for (const want of bootstrapClusterRoles()) {
    const name = want.metadata.name!;
    const cur = (await getOptional(objects, 'clusterroles', name)) as ClusterRole | undefined;
    if (!cur) {
      if (await createOrKeep(objects, 'clusterroles', want)) created++;
      continue;
    }
    if (cur.metadata.annotations?.[AUTOUPDATE] === 'false') continue;
    const missing = (want.rules ?? []).filter((r) => uncoveredRules(cur.rules ?? [], [r]).length > 0);
    const labels = { ...(want.metadata.labels ?? {}), ...(cur.metadata.labels ?? {}) };
    const wantAggregation = want.aggregationRule && stableStringify(cur.aggregationRule ?? null) !== stableStringify(want.aggregationRule);
    if (missing.length === 0 && !wantAggregation && stableStringify(labels) === stableStringify(cur.metadata.labels ?? {})) continue;
    await objects.mutate(resourceByName('clusterroles')!, undefined, name, undefined, (o) => {
      const r = o as ClusterRole;
      r.rules = [...(r.rules ?? []), ...missing];
      r.metadata.labels = { ...(want.metadata.labels ?? {}), ...(r.metadata.labels ?? {}) };
      if (want.aggregationRule) r.aggregationRule = want.aggregationRule;
      return r;
    });
    updated++;
  }
  for (const want of bootstrapClusterRoleBindings()) {
    const name = want.metadata.name!;
    const cur = (await getOptional(objects, 'clusterrolebindings', name)) as ClusterRoleBinding | undefined;
    if (!cur) {
      if (await createOrKeep(objects, 'clusterrolebindings', want)) created++;
      continue;
    }
    if (cur.metadata.annotations?.[AUTOUPDATE] === 'false') continue;
    const have = new Set((cur.subjects ?? []).map((s) => stableStringify(s)));
    const missing = (want.subjects ?? []).filter((s) => !have.has(stableStringify(s)));
    if (missing.length === 0) continue;
    await objects.mutate(resourceByName('clusterrolebindings')!, undefined, name, undefined, (o) => {
      const b = o as ClusterRoleBinding;
      b.subjects = [...(b.subjects ?? []), ...missing];
      return b;
    });
    updated++;
  }
  if (created || updated) log.info({ created, updated }, 'reconciled the default RBAC roles and bindings');
}

import type { PolicyRule, Subject } from '@pilot/api';
import type { UserInfo } from '../auth.js';
import type { Attributes } from './attributes.js';

/**
 * RBAC's rule matching as pure functions (plugin/pkg/auth/authorizer/rbac
 * and pkg/registry/rbac/validation): whether a rule allows a request,
 * whether a binding's subject is the user, and whether one set of rules
 * covers another (the escalation check). `*` is every verb, group or
 * resource; `*\/scale` is that subresource of every resource; a path rule
 * ending in `*` is a prefix.
 */

const has = (list: readonly string[] | undefined, v: string): boolean => !!list && (list.includes('*') || list.includes(v));

export function verbMatches(rule: PolicyRule, verb: string): boolean {
  return has(rule.verbs, verb);
}

export function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  return has(rule.apiGroups, group);
}

export function resourceMatches(rule: PolicyRule, resource: string, subresource: string): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const r of rule.resources ?? []) {
    if (r === '*' || r === combined) return true;
    if (subresource && r === `*/${subresource}`) return true;
  }
  return false;
}

/** No resourceNames: every name; otherwise only those (a collection request, name "", never matches). */
export function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(name);
}

export function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === '*' || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

export function ruleAllows(a: Pick<Attributes, 'verb' | 'resourceRequest' | 'apiGroup' | 'resource' | 'subresource' | 'name' | 'path'>, rule: PolicyRule): boolean {
  if (a.resourceRequest) {
    return verbMatches(rule, a.verb) && apiGroupMatches(rule, a.apiGroup) && resourceMatches(rule, a.resource, a.subresource) && resourceNameMatches(rule, a.name);
  }
  return verbMatches(rule, a.verb) && nonResourceURLMatches(rule, a.path);
}

export function rulesAllow(a: Parameters<typeof ruleAllows>[0], rules: readonly PolicyRule[]): boolean {
  return rules.some((r) => ruleAllows(a, r));
}

export const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

/** Whether a binding's subject is this user; a ServiceAccount without a namespace is one of the binding's namespace. */
export function appliesTo(user: Pick<UserInfo, 'name' | 'groups'>, s: Subject, bindingNamespace: string): boolean {
  switch (s.kind) {
    case 'User':
      return user.name === s.name;
    case 'Group':
      return user.groups.includes(s.name);
    case 'ServiceAccount':
      return user.name === `${SERVICE_ACCOUNT_PREFIX}${s.namespace || bindingNamespace}:${s.name}`;
    default:
      return false;
  }
}

/**
 * A rule split into rules of one verb, one group, one resource and at most
 * one name (or one verb and one path): the units the escalation check
 * compares (validation.BreakdownRule).
 */
export function breakdownRule(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      for (const verb of rule.verbs ?? []) {
        const names = rule.resourceNames ?? [];
        if (names.length === 0) out.push({ apiGroups: [group], resources: [resource], verbs: [verb] });
        for (const n of names) out.push({ apiGroups: [group], resources: [resource], verbs: [verb], resourceNames: [n] });
      }
    }
  }
  for (const url of rule.nonResourceURLs ?? []) for (const verb of rule.verbs ?? []) out.push({ nonResourceURLs: [url], verbs: [verb] });
  return out;
}

const coversAll = (owner: readonly string[] | undefined, wanted: readonly string[] | undefined): boolean =>
  (wanted ?? []).every((w) => (owner ?? []).includes('*') || (owner ?? []).includes(w));

function resourcesCover(owner: readonly string[] | undefined, wanted: readonly string[] | undefined): boolean {
  const o = owner ?? [];
  return (wanted ?? []).every((w) => {
    if (o.includes('*') || o.includes(w)) return true;
    const slash = w.indexOf('/');
    if (slash < 0) return false;
    // foo/* covers every subresource of foo, */bar the bar subresource of everything.
    return o.includes(`${w.slice(0, slash)}/*`) || o.includes(`*${w.slice(slash)}`);
  });
}

function urlsCover(owner: readonly string[] | undefined, wanted: readonly string[] | undefined): boolean {
  const o = owner ?? [];
  return (wanted ?? []).every((w) => o.some((u) => u === '*' || u === w || (u.endsWith('*') && w.startsWith(u.slice(0, -1)))));
}

/** Whether `owner` grants at least what `servant` does (validation's ruleCovers). */
export function ruleCovers(owner: PolicyRule, servant: PolicyRule): boolean {
  if (!coversAll(owner.verbs, servant.verbs)) return false;
  if ((servant.nonResourceURLs ?? []).length > 0) return urlsCover(owner.nonResourceURLs, servant.nonResourceURLs);
  if (!coversAll(owner.apiGroups, servant.apiGroups)) return false;
  if (!resourcesCover(owner.resources, servant.resources)) return false;
  const ownerNames = owner.resourceNames ?? [];
  if (ownerNames.length === 0) return true;
  const wantNames = servant.resourceNames ?? [];
  return wantNames.length > 0 && wantNames.every((n) => ownerNames.includes(n));
}

/** The parts of `servant` that no rule of `owner` covers (empty: no escalation). */
export function uncoveredRules(owner: readonly PolicyRule[], servant: readonly PolicyRule[]): PolicyRule[] {
  const missing: PolicyRule[] = [];
  for (const rule of servant) for (const unit of breakdownRule(rule)) if (!owner.some((o) => ruleCovers(o, unit))) missing.push(unit);
  return missing;
}

/** A rule as upstream's compactString prints it: `{APIGroups:[""], Resources:["pods"], Verbs:["get"]}`. */
export function compactRule(r: PolicyRule): string {
  const q = (l: readonly string[]) => `[${l.map((x) => JSON.stringify(x)).join(' ')}]`;
  const parts: string[] = [];
  if (r.apiGroups?.length) parts.push(`APIGroups:${q(r.apiGroups)}`);
  if (r.resources?.length) parts.push(`Resources:${q(r.resources)}`);
  if (r.nonResourceURLs?.length) parts.push(`NonResourceURLs:${q(r.nonResourceURLs)}`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:${q(r.resourceNames)}`);
  parts.push(`Verbs:${q(r.verbs ?? [])}`);
  return `{${parts.join(', ')}}`;
}

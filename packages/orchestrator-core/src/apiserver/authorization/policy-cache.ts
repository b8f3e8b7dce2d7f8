import { resourceByName, type ClusterRole, type ClusterRoleBinding, type KubeObject, type PolicyRule, type Role, type RoleBinding } from '@pilot/api';
import type { Logger } from '@pilot/common';
import { selection, type GenericRegistry } from '../registry/generic-registry.js';
import type { Subscription } from '../storage/watch-cache.js';
import { aggregatedRules } from './bootstrap-policy.js';
import type { PolicySource } from './rbac.js';

/**
 * The RBAC objects in memory, for the authorizer on every request (upstream
 * reads them from informers too): each of the four resources listed once,
 * then kept by a watch from the registry; a watch that ends (a compacted
 * revision) lists again. Aggregated ClusterRoles are resolved on first use
 * after any ClusterRole changes.
 */

type Kind = 'roles' | 'rolebindings' | 'clusterroles' | 'clusterrolebindings';
const KINDS: readonly Kind[] = ['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings'];

const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

export class PolicyCache implements PolicySource {
  private readonly objects = new Map<Kind, Map<string, KubeObject>>(KINDS.map((k) => [k, new Map()]));
  /** RoleBindings by namespace, rebuilt lazily. */
  private bindingsByNs: Map<string, RoleBinding[]> | undefined;
  private clusterBindings: ClusterRoleBinding[] | undefined;
  private effective = new Map<string, readonly PolicyRule[]>();
  private readonly subs: Subscription[] = [];
  private closed = false;

  constructor(
    private readonly registry: GenericRegistry,
    private readonly log: Logger,
  ) {}

  /** Lists everything and starts the watches; resolves once the cache holds the current objects. */
  async start(): Promise<void> {
    await Promise.all(KINDS.map((k) => this.sync(k)));
  }

  close(): void {
    this.closed = true;
    for (const s of this.subs.splice(0)) s.cancel();
  }

  private async sync(kind: Kind): Promise<void> {
    const r = resourceByName(kind)!;
    const list = await this.registry.list(r, undefined);
    const store = new Map(list.items.map((o) => [keyOf(o), o]));
    this.objects.set(kind, store);
    this.changed(kind);
    const sub = await this.registry.subscribe(r, undefined, selection(r), Number(list.metadata.resourceVersion), {
      onEvent: (ev) => {
        const m = this.objects.get(kind)!;
        if (ev.type === 'DELETED') m.delete(keyOf(ev.object));
        else if (ev.type === 'ADDED' || ev.type === 'MODIFIED') m.set(keyOf(ev.object), ev.object);
        this.changed(kind);
      },
      onProgress: () => undefined,
      onError: (err) => {
        if (this.closed) return;
        this.log.warn({ resource: kind, err: err.message }, 'RBAC watch ended; listing again');
        const i = this.subs.indexOf(sub);
        if (i >= 0) this.subs.splice(i, 1);
        void this.sync(kind).catch((e) => this.log.error({ resource: kind, err: String(e) }, 'RBAC relist failed'));
      },
    });
    if (this.closed) sub.cancel();
    else this.subs.push(sub);
  }

  private changed(kind: Kind): void {
    if (kind === 'rolebindings') this.bindingsByNs = undefined;
    if (kind === 'clusterrolebindings') this.clusterBindings = undefined;
    if (kind === 'clusterroles') this.effective = new Map();
  }

  clusterRoleBindings(): Iterable<ClusterRoleBinding> {
    this.clusterBindings ??= [...this.objects.get('clusterrolebindings')!.values()] as ClusterRoleBinding[];
    return this.clusterBindings;
  }

  roleBindings(namespace: string): Iterable<RoleBinding> {
    if (!this.bindingsByNs) {
      const by = new Map<string, RoleBinding[]>();
      for (const b of this.objects.get('rolebindings')!.values()) {
        const ns = b.metadata.namespace ?? '';
        let l = by.get(ns);
        if (!l) by.set(ns, (l = []));
        l.push(b as RoleBinding);
      }
      this.bindingsByNs = by;
    }
    return this.bindingsByNs.get(namespace) ?? [];
  }

  role(namespace: string, name: string): Role | undefined {
    return this.objects.get('roles')!.get(`${namespace}/${name}`) as Role | undefined;
  }

  clusterRoleRules(name: string): readonly PolicyRule[] | undefined {
    const hit = this.effective.get(name);
    if (hit) return hit;
    const roles = this.objects.get('clusterroles')! as Map<string, ClusterRole>;
    const role = roles.get(`/${name}`);
    if (!role) return undefined;
    let rules: readonly PolicyRule[] = role.rules ?? [];
    if (role.aggregationRule) {
      const byName = new Map([...roles.values()].map((r) => [r.metadata.name ?? '', r]));
      rules = [...rules, ...aggregatedRules(role, byName)];
    }
    this.effective.set(name, rules);
    return rules;
  }
}

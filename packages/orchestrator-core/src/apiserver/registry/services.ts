import type { KubeObject, Service, ServicePort } from '@pilot/api';
import { invalid, internalError, type FieldProblem } from '../status.js';
import { allocationEvents, allocationFailure } from './service-events.js';
import type { Strategy, StrategyContext, WriteExtras } from './strategy.js';
import { statusSubresource, type SubresourceMap } from './subresources.js';

/**
 * Services: ClusterIP, NodePort and healthCheckNodePort allocation. The reservations are keys
 * written in the Service's own transaction (see allocator.ts), so they are
 * race-safe and released by the delete that removes the Service.
 */

const needsNodePorts = (s: Service) => s.spec?.type === 'NodePort' || s.spec?.type === 'LoadBalancer';
/** A LoadBalancer with externalTrafficPolicy Local gets a health-check node port (kube-apiserver's NeedsHealthCheck). */
const needsHealthCheck = (s: Service) => s.spec?.type === 'LoadBalancer' && s.spec?.externalTrafficPolicy === 'Local';
const hasClusterIP = (s: Service) => s.spec?.type !== 'ExternalName' && s.spec?.clusterIP !== 'None';

function fieldInvalid(svc: KubeObject, field: string, value: unknown, message: string) {
  const p: FieldProblem = { type: 'FieldValueInvalid', field, message: `Invalid value: ${JSON.stringify(value)}: ${message}` };
  return invalid('Service', svc.metadata.name ?? '', [p]);
}

async function takenIps(ctx: StrategyContext): Promise<Set<string>> {
  const page = await ctx.storage.list(ctx.serviceIPs.keyPrefix, { keysOnly: true });
  return new Set(page.items.map((s) => ctx.serviceIPs.ipOfKey(s.key)));
}

async function takenPorts(ctx: StrategyContext): Promise<Set<number>> {
  const page = await ctx.storage.list(ctx.nodePorts.keyPrefix, { keysOnly: true });
  return new Set(page.items.map((s) => ctx.nodePorts.portOfKey(s.key)));
}

/**
 * Reservation writes for a service, given what the old version (if any)
 * already holds. Mutates `svc` to carry the chosen IP and ports.
 */
async function reserve(svc: Service, old: Service | undefined, ctx: StrategyContext): Promise<WriteExtras> {
  const svcKey = ctx.storage.keyFor('services', svc.metadata.namespace, svc.metadata.name!);
  const extras: WriteExtras = { compares: [], ops: [], retryKeys: new Set() };
  const requested = new Map<string, { field: string; value: unknown }>();
  const spec = (svc.spec ??= {});

  // ---- cluster IP
  const oldIp = old && hasClusterIP(old) ? old.spec?.clusterIP : undefined;
  if (spec.type === 'ExternalName') {
    delete spec.clusterIP;
    delete spec.clusterIPs;
  } else if (spec.clusterIP === 'None') {
    spec.clusterIPs = ['None'];
  } else if (oldIp && (!spec.clusterIP || spec.clusterIP === oldIp)) {
    spec.clusterIP = oldIp;
    spec.clusterIPs = [oldIp];
  } else if (oldIp && spec.clusterIP !== oldIp) {
    throw fieldInvalid(svc, 'spec.clusterIP', spec.clusterIP, 'field is immutable');
  } else if (spec.clusterIP) {
    const problem = ctx.serviceIPs.problem(spec.clusterIP);
    if (problem) throw fieldInvalid(svc, 'spec.clusterIP', spec.clusterIP, problem);
    const key = ctx.serviceIPs.keyFor(spec.clusterIP);
    extras.compares.push({ key, target: 'Version', value: 0 });
    extras.ops.push({ put: key, value: svcKey });
    requested.set(key, { field: 'spec.clusterIP', value: spec.clusterIP });
    spec.clusterIPs = [spec.clusterIP];
  } else {
    const ip = ctx.serviceIPs.choose(await takenIps(ctx));
    if (!ip) throw internalError(`failed to allocate a serviceIP: range ${ctx.serviceIPs.range.toString()} is full`);
    const key = ctx.serviceIPs.keyFor(ip);
    extras.compares.push({ key, target: 'Version', value: 0 });
    extras.ops.push({ put: key, value: svcKey });
    spec.clusterIP = ip;
    spec.clusterIPs = [ip];
  }
  if (oldIp && spec.clusterIP !== oldIp) extras.ops.push({ del: ctx.serviceIPs.keyFor(oldIp) });

  // ---- node ports
  const ports: ServicePort[] = spec.ports ?? [];
  const held = new Set<number>(old && needsNodePorts(old) ? (old.spec?.ports ?? []).flatMap((p) => (p.nodePort ? [p.nodePort] : [])) : []);
  const oldHealth = old && needsHealthCheck(old) ? old.spec?.healthCheckNodePort : undefined;
  if (oldHealth) held.add(oldHealth);
  const keep = new Set<number>();
  if (needsNodePorts(svc)) {
    // Indexes of ports needing a fresh node port; -1 stands for the health-check port.
    const fresh: number[] = [];
    ports.forEach((p, i) => {
      if (p.nodePort === undefined || p.nodePort === 0) {
        // Keep the node port the same port had before (kubectl apply omits it).
        const before = old?.spec?.ports?.find((o) => o.port === p.port && (o.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
        if (before?.nodePort && held.has(before.nodePort)) p.nodePort = before.nodePort;
        else return void fresh.push(i);
      }
      const np = p.nodePort;
      const problem = ctx.nodePorts.problem(np);
      if (problem) throw fieldInvalid(svc, `spec.ports[${i}].nodePort`, np, problem);
      keep.add(np);
      if (!held.has(np) && !requested.has(ctx.nodePorts.keyFor(np))) {
        const key = ctx.nodePorts.keyFor(np);
        extras.compares.push({ key, target: 'Version', value: 0 });
        extras.ops.push({ put: key, value: svcKey });
        requested.set(key, { field: `spec.ports[${i}].nodePort`, value: np });
      }
    });
    // The health-check port comes from the node-port range too, in the same transaction.
    if (needsHealthCheck(svc)) {
      if (!spec.healthCheckNodePort && oldHealth) spec.healthCheckNodePort = oldHealth;
      const hc = spec.healthCheckNodePort;
      if (!hc) fresh.push(-1);
      else {
        const problem = ctx.nodePorts.problem(hc);
        if (problem) throw fieldInvalid(svc, 'spec.healthCheckNodePort', hc, problem);
        const key = ctx.nodePorts.keyFor(hc);
        if (keep.has(hc) || requested.has(key)) throw fieldInvalid(svc, 'spec.healthCheckNodePort', hc, 'provided port is already allocated');
        keep.add(hc);
        if (!held.has(hc)) {
          extras.compares.push({ key, target: 'Version', value: 0 });
          extras.ops.push({ put: key, value: svcKey });
          requested.set(key, { field: 'spec.healthCheckNodePort', value: hc });
        }
      }
    } else delete spec.healthCheckNodePort;
    if (fresh.length) {
      const taken = await takenPorts(ctx);
      for (const k of requested.keys()) if (k.startsWith(ctx.nodePorts.keyPrefix)) taken.add(ctx.nodePorts.portOfKey(k));
      const picked = ctx.nodePorts.choose(taken, fresh.length);
      if (picked.length < fresh.length) throw internalError(`failed to allocate a nodePort: range ${ctx.nodePorts.range.min}-${ctx.nodePorts.range.max} is full`);
      fresh.forEach((i, j) => {
        const np = picked[j]!;
        if (i === -1) spec.healthCheckNodePort = np;
        else ports[i]!.nodePort = np;
        keep.add(np);
        const key = ctx.nodePorts.keyFor(np);
        extras.compares.push({ key, target: 'Version', value: 0 });
        extras.ops.push({ put: key, value: svcKey });
      });
    }
  } else {
    for (const p of ports) delete p.nodePort;
    delete spec.healthCheckNodePort;
  }
  for (const np of held) if (!keep.has(np)) extras.ops.push({ del: ctx.nodePorts.keyFor(np) });

  extras.onTaken = (key) => {
    const r = requested.get(key);
    const what = key.startsWith(ctx.nodePorts.keyPrefix) ? 'provided port is already allocated' : 'provided IP is already allocated';
    return r ? fieldInvalid(svc, r.field, r.value, what) : undefined;
  };
  return extras;
}

function release(old: Service, ctx: StrategyContext): WriteExtras {
  const ops: WriteExtras['ops'] = [];
  if (hasClusterIP(old) && old.spec?.clusterIP) ops.push({ del: ctx.serviceIPs.keyFor(old.spec.clusterIP) });
  if (needsNodePorts(old)) for (const p of old.spec?.ports ?? []) if (p.nodePort) ops.push({ del: ctx.nodePorts.keyFor(p.nodePort) });
  if (needsHealthCheck(old) && old.spec?.healthCheckNodePort) ops.push({ del: ctx.nodePorts.keyFor(old.spec.healthCheckNodePort) });
  return { compares: [], ops: dedupe(ops) };
}

function dedupe(ops: WriteExtras['ops']): WriteExtras['ops'] {
  const seen = new Set<string>();
  return ops.filter((o) => {
    const k = 'put' in o ? `p${o.put}` : `d${o.del}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export const serviceStrategy: Strategy = {
  prepareForCreate(obj) {
    const svc = obj as Service;
    svc.status = { loadBalancer: {} };
    svc.spec ??= {};
    svc.spec.type ??= 'ClusterIP';
  },
  /** Carry allocated values into an update that omits them (kubectl apply/replace do), as Kubernetes does. */
  prepareForUpdate(obj, oldObj) {
    const svc = obj as Service;
    const old = oldObj as Service;
    const spec = (svc.spec ??= {});
    spec.type ??= 'ClusterIP';
    if (!spec.clusterIP && spec.type !== 'ExternalName' && old.spec?.clusterIP && hasClusterIP(old)) {
      spec.clusterIP = old.spec.clusterIP;
      spec.clusterIPs = [old.spec.clusterIP];
    }
    if (needsHealthCheck(svc) && !spec.healthCheckNodePort && needsHealthCheck(old) && old.spec?.healthCheckNodePort) spec.healthCheckNodePort = old.spec.healthCheckNodePort;
    if (needsNodePorts(svc)) {
      for (const p of spec.ports ?? []) {
        if (p.nodePort) continue;
        const before = old.spec?.ports?.find((o) => o.port === p.port && (o.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
        if (before?.nodePort) p.nodePort = before.nodePort;
      }
    } else if (needsNodePorts(old)) {
      for (const p of spec.ports ?? []) delete p.nodePort;
    }
  },
  async createExtras(obj, ctx) {
    return reserve(obj as Service, undefined, ctx);
  },
  async updateExtras(obj, old, ctx) {
    return reserve(obj as Service, old as Service, ctx);
  },
  async deleteExtras(old, ctx) {
    return release(old as Service, ctx);
  },
  /**
   * The story in `kubectl describe svc` (what was allocated) and in `kubectl
   * get events` (why a create or update was refused: range full, port or IP taken).
   */
  async afterWrite(w, ctx) {
    if (w.error !== undefined) {
      const why = allocationFailure(w.error);
      if (why) await ctx.events.record(w.before ?? w.target, 'Warning', 'FailedToAllocate', why);
      return;
    }
    for (const e of allocationEvents(w.before as Service | undefined, w.after as Service)) await ctx.events.record(w.after!, 'Normal', e.reason, e.message);
  },
};

export const serviceSubresources: SubresourceMap = { status: statusSubresource };

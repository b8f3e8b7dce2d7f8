import type { Service } from '@pilot/api';
import { StatusError } from '../status.js';

/**
 * The apiserver reserves a Service's ClusterIP and NodePorts itself, in the
 * Service's own transaction; these pure functions word the events the
 * service strategy records after a write (services.ts `afterWrite`).
 */

/** What a Service holds: its ClusterIP and NodePorts. */
export function allocationsOf(svc: Service | undefined): { clusterIP?: string; nodePorts: number[] } {
  const ip = svc?.spec?.clusterIP;
  const out: { clusterIP?: string; nodePorts: number[] } = { nodePorts: (svc?.spec?.ports ?? []).flatMap((p) => (p.nodePort ? [p.nodePort] : [])) };
  if (ip && ip !== 'None') out.clusterIP = ip;
  return out;
}

/** Events for what `next` newly holds compared with `before` (pure). */
export function allocationEvents(before: Service | undefined, next: Service): { reason: string; message: string }[] {
  const a = allocationsOf(before);
  const b = allocationsOf(next);
  const out: { reason: string; message: string }[] = [];
  if (b.clusterIP && b.clusterIP !== a.clusterIP) out.push({ reason: 'ClusterIPAllocated', message: `Cluster IP ${b.clusterIP} allocated` });
  const fresh = b.nodePorts.filter((p) => !a.nodePorts.includes(p));
  if (fresh.length) out.push({ reason: 'NodePortAllocated', message: `Node port${fresh.length > 1 ? 's' : ''} ${fresh.join(', ')} allocated` });
  return out;
}

/** Whether a refused write failed on an allocation (not on, say, an immutable field). */
export function allocationFailure(err: unknown): string | undefined {
  if (!(err instanceof StatusError)) return undefined;
  if (err.code === 500 && /failed to allocate/.test(err.message)) return err.message;
  if (err.code === 422 && /already allocated|not in the valid range/.test(err.message)) {
    const fields = (err.details?.causes ?? []).map((c) => c.field ?? '');
    if (fields.some((f) => f === 'spec.clusterIP' || f === 'spec.healthCheckNodePort' || /^spec\.ports\[\d+\]\.nodePort$/.test(f))) return err.message;
  }
  return undefined;
}

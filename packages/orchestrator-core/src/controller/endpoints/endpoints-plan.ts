/**
 * The endpoints controller's decisions as pure functions
 * (endpoints_controller.go's syncService without its I/O, endpointslice
 * util's ShouldPodBeInEndpoints, podutil.FindPort, endpoints.RepackSubsets,
 * truncateEndpoints and the TriggerTimeTracker):
 *
 *   Service + its selected pods → desiredSubsets → repacked, sorted subsets
 *   + the Endpoints stored now + trigger time → planEndpoints → the object to write, or nothing
 *
 * A pod is listed when it is not terminal, has an IP, and is not terminating
 * (unless the Service publishes not-ready addresses); ready pods go to
 * `addresses`, the others to `notReadyAddresses` (all to `addresses` with
 * publishNotReadyAddresses); a named targetPort is resolved per pod, and a
 * pod without that port is left out of that port.
 */
import { isPodReady, isPodTerminal, podReadyCondition, type EndpointAddress, type EndpointPort, type Endpoints, type EndpointSubset, type Pod, type Service, type ServicePort } from '@pilot/api';

export const LAST_CHANGE_TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';
export const OVER_CAPACITY_ANNOTATION = 'endpoints.kubernetes.io/over-capacity';
/** The label the controller puts on the Endpoints of a headless Service. */
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';
/** Addresses an Endpoints object holds at most (maxCapacity). */
export const MAX_ENDPOINTS = 1000;

export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  if (isPodTerminal(pod)) return false;
  if (!pod.status?.podIP && !pod.status?.podIPs?.length) return false;
  if (!includeTerminating && pod.metadata.deletionTimestamp) return false;
  return true;
}

/**
 * The container port a Service port reaches on this pod (FindPort): a
 * number as is; a name by the pod's container ports of that name and
 * protocol (restartable init containers included); undefined if none.
 */
export function findPort(pod: Pod, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  const protocol = sp.protocol ?? 'TCP';
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always')];
  for (const c of containers) for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  return undefined;
}

function isHeadless(svc: Service): boolean {
  return svc.spec?.clusterIP === 'None';
}

function podAddress(svc: Service, pod: Pod): EndpointAddress {
  const a: EndpointAddress = {
    ip: pod.status?.podIP ?? pod.status!.podIPs![0]!.ip,
    targetRef: { kind: 'Pod', namespace: pod.metadata.namespace!, name: pod.metadata.name!, uid: pod.metadata.uid! },
  };
  if (pod.spec?.nodeName) a.nodeName = pod.spec.nodeName;
  // ShouldSetHostname: the pod asked for this Service as its subdomain.
  if (pod.spec?.hostname && pod.spec.subdomain === svc.metadata.name && pod.metadata.namespace === svc.metadata.namespace) a.hostname = pod.spec.hostname;
  return a;
}

/** The Endpoints subsets for a Service with a selector and the pods it selects, repacked and sorted. */
export function desiredSubsets(svc: Service, pods: readonly Pod[]): EndpointSubset[] {
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const ports = svc.spec?.ports ?? [];
  const flat: { addr: EndpointAddress; ready: boolean; port: EndpointPort | undefined }[] = [];
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
    const addr = podAddress(svc, pod);
    const ready = publishNotReady || isPodReady(pod);
    if (ports.length === 0) {
      // A headless Service may have no ports: its addresses still count.
      if (isHeadless(svc)) flat.push({ addr, ready, port: undefined });
      continue;
    }
    for (const sp of ports) {
      const n = findPort(pod, sp);
      if (n === undefined) continue;
      const port: EndpointPort = { port: n, protocol: sp.protocol ?? 'TCP' };
      if (sp.name) port.name = sp.name;
      if (sp.appProtocol) port.appProtocol = sp.appProtocol;
      flat.push({ addr, ready, port });
    }
  }
  return repack(flat);
}

const portKey = (p: EndpointPort | undefined) => (p ? `${p.name ?? ''}/${p.port}/${p.protocol ?? 'TCP'}/${p.appProtocol ?? ''}` : '');
const addrKey = (a: EndpointAddress) => `${a.ip}/${a.targetRef?.uid ?? ''}`;

/** LessEndpointAddress: by IP (as bytes of its text), then by target UID. */
function compareAddresses(a: EndpointAddress, b: EndpointAddress): number {
  if (a.ip !== b.ip) return a.ip < b.ip ? -1 : 1;
  const ua = a.targetRef?.uid ?? '';
  const ub = b.targetRef?.uid ?? '';
  return ua < ub ? -1 : ua > ub ? 1 : 0;
}

/**
 * RepackSubsets: one subset per distinct set of (address, ready) pairs,
 * holding every port those addresses offer; a ready listing of an address
 * wins over a not-ready one. Sorted (addresses by IP, ports and subsets by
 * their text) so equal content compares equal.
 */
function repack(flat: { addr: EndpointAddress; ready: boolean; port: EndpointPort | undefined }[]): EndpointSubset[] {
  const byPort = new Map<string, { port: EndpointPort | undefined; addrs: Map<string, { addr: EndpointAddress; ready: boolean }> }>();
  for (const f of flat) {
    const pk = portKey(f.port);
    let e = byPort.get(pk);
    if (!e) byPort.set(pk, (e = { port: f.port, addrs: new Map() }));
    const ak = addrKey(f.addr);
    const prev = e.addrs.get(ak);
    if (!prev || (!prev.ready && f.ready)) e.addrs.set(ak, { addr: f.addr, ready: f.ready });
  }
  const bySet = new Map<string, { addrs: { addr: EndpointAddress; ready: boolean }[]; ports: EndpointPort[] }>();
  for (const { port, addrs } of byPort.values()) {
    const list = [...addrs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const setKey = list.map(([k, v]) => `${k}:${v.ready ? 1 : 0}`).join(',');
    let s = bySet.get(setKey);
    if (!s) bySet.set(setKey, (s = { addrs: list.map(([, v]) => v), ports: [] }));
    if (port) s.ports.push(port);
  }
  const out: EndpointSubset[] = [];
  for (const s of bySet.values()) {
    const subset: EndpointSubset = {};
    const ready = s.addrs.filter((a) => a.ready).map((a) => a.addr).sort(compareAddresses);
    const notReady = s.addrs.filter((a) => !a.ready).map((a) => a.addr).sort(compareAddresses);
    if (ready.length) subset.addresses = ready;
    if (notReady.length) subset.notReadyAddresses = notReady;
    if (s.ports.length) subset.ports = s.ports.sort((a, b) => (portKey(a) < portKey(b) ? -1 : portKey(a) > portKey(b) ? 1 : 0));
    out.push(subset);
  }
  const subsetKey = (s: EndpointSubset) => JSON.stringify([s.ports?.map(portKey), s.addresses?.map(addrKey), s.notReadyAddresses?.map(addrKey)]);
  return out.sort((a, b) => (subsetKey(a) < subsetKey(b) ? -1 : subsetKey(a) > subsetKey(b) ? 1 : 0));
}

/**
 * truncateEndpoints: above MAX_ENDPOINTS addresses, keep that many —
 * not-ready ones go first; if the ready ones alone are too many, all
 * not-ready ones go and the ready ones are cut per subset in proportion.
 */
export function truncateSubsets(subsets: EndpointSubset[], max = MAX_ENDPOINTS): { subsets: EndpointSubset[]; truncated: boolean } {
  let ready = 0;
  let notReady = 0;
  for (const s of subsets) {
    ready += s.addresses?.length ?? 0;
    notReady += s.notReadyAddresses?.length ?? 0;
  }
  if (ready + notReady <= max) return { subsets, truncated: false };
  const truncateReady = ready > max;
  const room = truncateReady ? max : max - ready;
  const total = truncateReady ? ready : notReady;
  let canAdd = room;
  const out = subsets.map((s) => {
    const n = truncateReady ? (s.addresses?.length ?? 0) : (s.notReadyAddresses?.length ?? 0);
    const take = Math.min(Math.ceil((n / total) * room), canAdd);
    const next: EndpointSubset = { ...s };
    if (truncateReady) {
      next.addresses = (s.addresses ?? []).slice(0, take);
      delete next.notReadyAddresses;
      canAdd -= next.addresses.length;
    } else {
      next.notReadyAddresses = (s.notReadyAddresses ?? []).slice(0, take);
      canAdd -= next.notReadyAddresses.length;
    }
    if (next.addresses?.length === 0) delete next.addresses;
    if (next.notReadyAddresses?.length === 0) delete next.notReadyAddresses;
    return next;
  });
  return { subsets: out, truncated: true };
}

/** Subsets equal, ignoring the pods' resourceVersion in targetRef (endpointSubsetsEqualIgnoreResourceVersion). */
export function subsetsEqual(a: readonly EndpointSubset[] | undefined, b: readonly EndpointSubset[] | undefined): boolean {
  const norm = (list: readonly EndpointSubset[] | undefined) =>
    JSON.stringify(
      (list ?? []).map((s) => {
        const addr = (x: EndpointAddress) => {
          const { resourceVersion: _rv, ...ref } = x.targetRef ?? {};
          return [x.ip, x.hostname ?? '', x.nodeName ?? '', x.targetRef ? ref : null];
        };
        return [(s.addresses ?? []).map(addr), (s.notReadyAddresses ?? []).map(addr), (s.ports ?? []).map((p) => [p.name ?? '', p.port, p.protocol ?? 'TCP', p.appProtocol ?? ''])];
      }),
    );
  return norm(a) === norm(b);
}

function sameMap(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  return ka.length === Object.keys(b ?? {}).length && ka.every((k) => a![k] === b?.[k]);
}

/**
 * What to write for the Service (the rest of syncService): undefined when
 * the stored Endpoints already say it — same subsets, same labels (the
 * Service's, plus the headless label), the over-capacity annotation right —
 * otherwise the new object (a create when `current` is undefined), with the
 * trigger-time annotation set to `triggerTimeMs` (cleared when undefined).
 */
export function planEndpoints(svc: Service, subsets: EndpointSubset[], current: Endpoints | undefined, triggerTimeMs: number | undefined): Endpoints | undefined {
  const { subsets: capped, truncated } = truncateSubsets(subsets);
  const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
  if (isHeadless(svc)) labels[HEADLESS_LABEL] = '';
  if (current) {
    const curTruncated = current.metadata.annotations?.[OVER_CAPACITY_ANNOTATION] === 'truncated';
    if (subsetsEqual(current.subsets, capped) && sameMap(current.metadata.labels, labels) && curTruncated === truncated) return undefined;
  }
  const annotations: Record<string, string> = { ...(current?.metadata.annotations ?? {}) };
  if (triggerTimeMs !== undefined) annotations[LAST_CHANGE_TRIGGER_TIME_ANNOTATION] = rfc3339Nano(triggerTimeMs);
  else delete annotations[LAST_CHANGE_TRIGGER_TIME_ANNOTATION];
  if (truncated) annotations[OVER_CAPACITY_ANNOTATION] = 'truncated';
  else delete annotations[OVER_CAPACITY_ANNOTATION];
  const ep: Endpoints = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { ...(current?.metadata ?? {}), name: svc.metadata.name!, namespace: svc.metadata.namespace!, labels },
    subsets: capped,
  };
  if (Object.keys(annotations).length) ep.metadata.annotations = annotations;
  else delete ep.metadata.annotations;
  return ep;
}

/** Go's time.RFC3339Nano: fractional seconds without trailing zeros, none when whole. */
export function rfc3339Nano(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d+)Z$/, (_m, f: string) => (/^0+$/.test(f) ? 'Z' : `.${f.replace(/0+$/, '')}Z`));
}

// ---------------------------------------------------------------- trigger time

interface ServiceState {
  podTimes: Map<string, number>;
  serviceTime: number | undefined;
}

const timeOf = (s: string | undefined): number | undefined => {
  const t = s ? Date.parse(s) : NaN;
  return Number.isFinite(t) ? t : undefined;
};

/**
 * TriggerTimeTracker: the time of the earliest Pod or Service change that
 * the next Endpoints write carries (the network-programming-latency SLI's
 * start). A pod's change time is its Ready condition's lastTransitionTime,
 * the Service's its creationTimestamp; a Service seen for the first time
 * answers its creation time. Not safe for concurrent calls on one Service,
 * which the workqueue guarantees.
 */
export class TriggerTimeTracker {
  private readonly states = new Map<string, ServiceState>();

  compute(svc: Service, pods: readonly Pod[]): number | undefined {
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
    const state = this.states.get(key);
    let min: number | undefined;
    const podTimes = new Map<string, number>();
    for (const pod of pods) {
      const t = timeOf(podReadyCondition(pod)?.lastTransitionTime);
      if (t === undefined) continue;
      podTimes.set(pod.metadata.name!, t);
      const last = state?.podTimes.get(pod.metadata.name!);
      if (last === undefined || t > last) min = min === undefined ? t : Math.min(min, t);
    }
    const serviceTime = timeOf(svc.metadata.creationTimestamp);
    if (serviceTime !== undefined && (state?.serviceTime === undefined || serviceTime > state.serviceTime)) min = min === undefined ? serviceTime : Math.min(min, serviceTime);
    this.states.set(key, { podTimes, serviceTime });
    if (!state) return serviceTime;
    return min;
  }

  deleteService(namespace: string, name: string): void {
    this.states.delete(`${namespace}/${name}`);
  }
}

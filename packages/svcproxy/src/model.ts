import { Cidr, isIPv4, isLoopback } from '@pilot/common';
import { endpointString, servicePortName } from './names.js';

/**
 * The proxier's view of the cluster: plain data, one entry per service port,
 * built from Kubernetes Service / Endpoints objects. Everything downstream
 * (rules, change tracking, conntrack cleanup) works on this model only.
 */

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface ServicePortInfo {
  namespace: string;
  name: string;
  /** '' for an unnamed port. */
  portName: string;
  protocol: Protocol;
  clusterIP: string;
  port: number;
  nodePort?: number;
  externalIPs: string[];
  loadBalancerIPs: string[];
  sessionAffinity: 'None' | 'ClientIP';
  /** ClientIP affinity timeout (seconds); kube-proxy's default 10800. */
  stickySeconds: number;
  /**
   * externalTrafficPolicy Local on an externally reachable port (NodePort,
   * external or LB IP): external traffic only to this node's endpoints, client
   * IP preserved. Absent = Cluster.
   */
  externalPolicyLocal?: boolean;
  /** internalTrafficPolicy Local: cluster-IP traffic only to this node's endpoints. Absent = Cluster. */
  internalPolicyLocal?: boolean;
  /** CIDRs allowed to reach the load-balancer IPs (absent or empty = everyone). */
  loadBalancerSourceRanges?: string[];
  /** Port of the service health check this node serves (LoadBalancer + externalTrafficPolicy Local). */
  healthCheckNodePort?: number;
}

export interface EndpointInfo {
  ip: string;
  port: number;
  ready: boolean;
  isLocal?: boolean;
}

/** ServicePortName string: `ns/svc:port` or `ns/svc` (the key everything is indexed by). */
export function servicePortKey(sp: Pick<ServicePortInfo, 'namespace' | 'name' | 'portName'>): string {
  return servicePortName(sp.namespace, sp.name, sp.portName);
}

export function endpointKey(ep: EndpointInfo): string {
  return endpointString(ep.ip, ep.port);
}

/** Something skipped, with the object and field it came from. */
export type Warn = (message: string) => void;

// ------------------------------------------------------------------ inputs
// The minimal shapes read from the API (structurally the Kubernetes objects;
// kept local so the core does not depend on the client package).

export interface ObjectMetaLike {
  name?: string;
  namespace?: string;
  annotations?: Record<string, string>;
}

/** Set by the endpoints controller: when the change that led to this Endpoints/EndpointSlice happened. */
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

export interface ServiceLike {
  metadata: ObjectMetaLike;
  spec?: {
    type?: string;
    clusterIP?: string;
    ports?: { name?: string; protocol?: string; port: number; nodePort?: number }[];
    sessionAffinity?: string;
    sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
    externalIPs?: string[];
    externalTrafficPolicy?: string;
    internalTrafficPolicy?: string;
    loadBalancerSourceRanges?: string[];
    healthCheckNodePort?: number;
  };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

export interface EndpointsLike {
  metadata: ObjectMetaLike;
  subsets?: {
    addresses?: { ip: string; nodeName?: string }[];
    notReadyAddresses?: { ip: string; nodeName?: string }[];
    ports?: { name?: string; port: number; protocol?: string }[];
  }[];
}

const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];
export const DEFAULT_STICKY_SECONDS = 10800;
const MAX_STICKY_SECONDS = 86400;

function validPort(p: unknown): p is number {
  return typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535;
}

/** A usable IPv4 unicast address for NAT: not loopback, not 0.0.0.0. */
function usableIP(ip: unknown): ip is string {
  return typeof ip === 'string' && isIPv4(ip) && !isLoopback(ip) && ip !== '0.0.0.0';
}

/**
 * One ServicePortInfo per valid port of a Service. ExternalName and headless
 * services yield nothing (they get no rules); an invalid port is skipped with a
 * warning naming the service and port; the other ports are kept.
 */
export function servicePortsFromService(svc: ServiceLike, warn: Warn = () => {}): ServicePortInfo[] {
  const namespace = svc.metadata.namespace ?? 'default';
  const name = svc.metadata.name ?? '';
  const id = `service ${namespace}/${name}`;
  const spec = svc.spec ?? {};
  if (!name) {
    warn(`service in namespace ${namespace} has no name; skipped`);
    return [];
  }
  if (spec.type === 'ExternalName') return [];
  const clusterIP = spec.clusterIP ?? '';
  if (clusterIP === '' || clusterIP === 'None') return [];
  if (!usableIP(clusterIP)) {
    warn(`${id}: invalid clusterIP ${JSON.stringify(clusterIP)}; skipped`);
    return [];
  }
  const affinity = spec.sessionAffinity === 'ClientIP' ? 'ClientIP' : 'None';
  let stickySeconds = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_STICKY_SECONDS;
  if (!Number.isInteger(stickySeconds) || stickySeconds < 1 || stickySeconds > MAX_STICKY_SECONDS) {
    warn(`${id}: sessionAffinityConfig.clientIP.timeoutSeconds ${stickySeconds} out of range 1-${MAX_STICKY_SECONDS}; using ${DEFAULT_STICKY_SECONDS}`);
    stickySeconds = DEFAULT_STICKY_SECONDS;
  }
  const externalIPs = addressList(spec.externalIPs ?? [], `${id}: externalIP`, warn);
  const lbIPs = addressList(
    (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => !!ip),
    `${id}: loadBalancer ingress IP`,
    warn,
  );
  const policies = trafficPolicies(spec, id, warn);
  if (!policies) return [];
  const externallyReachable = externalIPs.length > 0 || lbIPs.length > 0 || (spec.ports ?? []).some((p) => !!p.nodePort);
  const out: ServicePortInfo[] = [];
  const seen = new Set<string>();
  for (const [i, p] of (spec.ports ?? []).entries()) {
    const portName = p.name ?? '';
    const where = `${id} port ${portName || `#${i}`}`;
    const protocol = (p.protocol ?? 'TCP') as Protocol;
    if (!PROTOCOLS.includes(protocol)) {
      warn(`${where}: unsupported protocol ${JSON.stringify(p.protocol)}; port skipped`);
      continue;
    }
    if (!validPort(p.port)) {
      warn(`${where}: invalid port ${JSON.stringify(p.port)}; port skipped`);
      continue;
    }
    if (p.nodePort !== undefined && p.nodePort !== 0 && !validPort(p.nodePort)) {
      warn(`${where}: invalid nodePort ${JSON.stringify(p.nodePort)}; port skipped`);
      continue;
    }
    const key = servicePortName(namespace, name, portName);
    if (seen.has(key)) {
      warn(`${where}: duplicate port name; port skipped`);
      continue;
    }
    seen.add(key);
    const info: ServicePortInfo = {
      namespace,
      name,
      portName,
      protocol,
      clusterIP,
      port: p.port,
      externalIPs,
      loadBalancerIPs: lbIPs,
      sessionAffinity: affinity,
      stickySeconds,
    };
    if (p.nodePort) info.nodePort = p.nodePort;
    if (policies.externalLocal && externallyReachable) info.externalPolicyLocal = true;
    if (policies.internalLocal) info.internalPolicyLocal = true;
    if (policies.sourceRanges.length) info.loadBalancerSourceRanges = policies.sourceRanges;
    if (policies.healthCheckNodePort) info.healthCheckNodePort = policies.healthCheckNodePort;
    out.push(info);
  }
  return out;
}

interface TrafficPolicies {
  externalLocal: boolean;
  internalLocal: boolean;
  sourceRanges: string[];
  healthCheckNodePort?: number;
}

/**
 * Traffic policies, source ranges and the health-check port of a service, or
 * undefined (with a warning naming the service) when one is invalid: a
 * service whose policy cannot be honoured gets no rules rather than rules
 * that would open it wider than asked.
 */
function trafficPolicies(spec: NonNullable<ServiceLike['spec']>, id: string, warn: Warn): TrafficPolicies | undefined {
  const policy = (field: 'externalTrafficPolicy' | 'internalTrafficPolicy'): boolean | undefined => {
    const v = spec[field];
    if (v === undefined || v === '' || v === 'Cluster') return false;
    if (v === 'Local') return true;
    warn(`${id}: ${field} ${JSON.stringify(v)} is not Cluster or Local; skipped`);
    return undefined;
  };
  const externalLocal = policy('externalTrafficPolicy');
  const internalLocal = policy('internalTrafficPolicy');
  if (externalLocal === undefined || internalLocal === undefined) return undefined;
  const sourceRanges: string[] = [];
  const ranges: unknown = spec.loadBalancerSourceRanges ?? [];
  if (!Array.isArray(ranges)) {
    warn(`${id}: loadBalancerSourceRanges ${JSON.stringify(ranges)} is not a list; skipped`);
    return undefined;
  }
  for (const r of ranges) {
    let cidr: string;
    try {
      // Host bits are allowed, as the API allows them; the rule carries the network.
      cidr = Cidr.parse(String(r), { loose: true }).toString();
    } catch {
      warn(`${id}: loadBalancerSourceRanges entry ${JSON.stringify(r)} is not an IPv4 CIDR; skipped`);
      return undefined;
    }
    if (!sourceRanges.includes(cidr)) sourceRanges.push(cidr);
  }
  const out: TrafficPolicies = { externalLocal, internalLocal, sourceRanges };
  // kube-proxy serves a health check only for a LoadBalancer with Local external policy.
  if (spec.type === 'LoadBalancer' && externalLocal) {
    const hc = spec.healthCheckNodePort;
    if (hc !== undefined && hc !== 0) {
      if (!validPort(hc)) {
        warn(`${id}: invalid healthCheckNodePort ${JSON.stringify(hc)}; skipped`);
        return undefined;
      }
      out.healthCheckNodePort = hc;
    }
  }
  return out;
}

function addressList(ips: readonly string[], what: string, warn: Warn): string[] {
  const out: string[] = [];
  for (const ip of ips) {
    if (usableIP(ip)) {
      if (!out.includes(ip)) out.push(ip);
    } else warn(`${what} ${JSON.stringify(ip)} is invalid; ignored`);
  }
  return out;
}

/**
 * Endpoints object → endpoints per ServicePortName key, as kube-proxy builds
 * them: ready addresses × ports, matched to service ports by port *name*.
 * notReadyAddresses are not served. Invalid or loopback IPs and invalid ports
 * are skipped with a warning naming the Endpoints object. Each list is
 * de-duplicated and sorted by `ip:port`.
 */
export function endpointsFromEndpoints(ep: EndpointsLike, nodeName: string | undefined, warn: Warn = () => {}): Map<string, EndpointInfo[]> {
  const namespace = ep.metadata.namespace ?? 'default';
  const name = ep.metadata.name ?? '';
  const id = `endpoints ${namespace}/${name}`;
  const byKey = new Map<string, Map<string, EndpointInfo>>();
  for (const subset of ep.subsets ?? []) {
    const ports = (subset.ports ?? []).filter((p) => {
      if (validPort(p.port)) return true;
      warn(`${id}: port ${p.name ?? ''} has invalid number ${JSON.stringify(p.port)}; skipped`);
      return false;
    });
    const addrs = (subset.addresses ?? []).filter((a) => {
      if (usableIP(a.ip)) return true;
      warn(`${id}: address ${JSON.stringify(a.ip)} is invalid or loopback; skipped`);
      return false;
    });
    for (const p of ports) {
      const key = servicePortName(namespace, name, p.name ?? '');
      let m = byKey.get(key);
      if (!m) byKey.set(key, (m = new Map()));
      for (const a of addrs) {
        const info: EndpointInfo = { ip: a.ip, port: p.port, ready: true };
        if (nodeName !== undefined) info.isLocal = a.nodeName === nodeName;
        m.set(endpointKey(info), info);
      }
    }
  }
  const out = new Map<string, EndpointInfo[]>();
  for (const [key, m] of byKey) out.set(key, sortEndpoints([...m.values()]));
  return out;
}

export interface EndpointSliceLike {
  metadata: ObjectMetaLike & { labels?: Record<string, string> };
  addressType?: string;
  endpoints?: { addresses?: string[]; conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean }; nodeName?: string }[];
  ports?: { name?: string; port?: number; protocol?: string }[];
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** `ns/svc` a slice belongs to (its kubernetes.io/service-name label), or undefined. */
export function sliceServiceKey(slice: EndpointSliceLike): string | undefined {
  const svc = slice.metadata.labels?.[SERVICE_NAME_LABEL];
  return svc ? `${slice.metadata.namespace ?? 'default'}/${svc}` : undefined;
}

/**
 * The EndpointSlices of one service → endpoints per ServicePortName key, as
 * kube-proxy's slice cache builds them: IPv4 slices only, `addresses[0]` of
 * each endpoint, `conditions.ready` nil meaning ready, ports matched by name
 * (a port with no number is ignored), de-duplicated by ip:port across slices
 * and sorted. Invalid or loopback addresses are skipped with a warning.
 */
export function endpointsFromSlices(slices: readonly EndpointSliceLike[], nodeName: string | undefined, warn: Warn = () => {}): Map<string, EndpointInfo[]> {
  const byKey = new Map<string, Map<string, EndpointInfo>>();
  for (const slice of slices) {
    const svcKey = sliceServiceKey(slice);
    const id = `endpointslice ${slice.metadata.namespace ?? 'default'}/${slice.metadata.name ?? ''}`;
    if (!svcKey) {
      warn(`${id}: no ${SERVICE_NAME_LABEL} label; skipped`);
      continue;
    }
    if (slice.addressType && slice.addressType !== 'IPv4') continue;
    const [namespace, name] = svcKey.split('/') as [string, string];
    for (const p of slice.ports ?? []) {
      if (p.port === undefined || p.port === 0) continue;
      if (!validPort(p.port)) {
        warn(`${id}: port ${p.name ?? ''} has invalid number ${JSON.stringify(p.port)}; skipped`);
        continue;
      }
      const key = servicePortName(namespace, name, p.name ?? '');
      let m = byKey.get(key);
      if (!m) byKey.set(key, (m = new Map()));
      for (const e of slice.endpoints ?? []) {
        const ip = e.addresses?.[0];
        if (!usableIP(ip)) {
          warn(`${id}: address ${JSON.stringify(ip)} is invalid or loopback; skipped`);
          continue;
        }
        const info: EndpointInfo = { ip, port: p.port, ready: e.conditions?.ready ?? true };
        if (nodeName !== undefined) info.isLocal = e.nodeName === nodeName;
        const k = endpointKey(info);
        // The same endpoint in two slices (a move in progress): ready wins.
        const prev = m.get(k);
        if (!prev || (!prev.ready && info.ready)) m.set(k, info);
      }
    }
  }
  const out = new Map<string, EndpointInfo[]>();
  for (const [key, m] of byKey) out.set(key, sortEndpoints([...m.values()]));
  return out;
}

export function sortEndpoints(eps: EndpointInfo[]): EndpointInfo[] {
  return eps.sort((a, b) => {
    const x = endpointKey(a);
    const y = endpointKey(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** The whole input of a sync: service ports and their endpoints, by ServicePortName key. */
export interface ProxyState {
  services: Map<string, ServicePortInfo>;
  endpoints: Map<string, EndpointInfo[]>;
}

/** Builds a ProxyState from full object lists (a convenience for static input and tests). */
export function stateFromObjects(
  services: readonly ServiceLike[],
  endpoints: readonly EndpointsLike[],
  nodeName?: string,
  warn: Warn = () => {},
): ProxyState {
  const state: ProxyState = { services: new Map(), endpoints: new Map() };
  for (const s of services) for (const sp of servicePortsFromService(s, warn)) state.services.set(servicePortKey(sp), sp);
  for (const e of endpoints) for (const [k, eps] of endpointsFromEndpoints(e, nodeName, warn)) state.endpoints.set(k, eps);
  return state;
}

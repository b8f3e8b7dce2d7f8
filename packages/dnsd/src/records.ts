import { isIPv4, isIPv6 } from 'node:net';

/**
 * Slim records: only what DNS needs from Services, Endpoints, EndpointSlices
 * and Namespaces, so the index stays small at scale (CoreDNS's object/ idea).
 * The input interfaces are the minimal structural subset of the Kubernetes
 * shapes (packages/api's full types satisfy them).
 */

// ---------------------------------------------------------------- input shapes

export interface MetaLike {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
}

export interface ServiceLike {
  kind?: string;
  metadata?: MetaLike;
  spec?: {
    type?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    externalName?: string;
    publishNotReadyAddresses?: boolean;
    ports?: { name?: string; protocol?: string; port: number }[];
  };
}

interface AddressLike {
  ip: string;
  hostname?: string;
}

export interface EndpointsLike {
  kind?: string;
  metadata?: MetaLike;
  subsets?: {
    addresses?: AddressLike[];
    notReadyAddresses?: AddressLike[];
    ports?: { name?: string; protocol?: string; port: number }[];
  }[];
}

export interface EndpointSliceLike {
  kind?: string;
  metadata?: MetaLike;
  addressType?: string;
  endpoints?: { addresses?: string[]; conditions?: { ready?: boolean }; hostname?: string }[];
  ports?: { name?: string; protocol?: string; port?: number }[];
}

export interface NamespaceLike {
  kind?: string;
  metadata?: MetaLike;
}

// ---------------------------------------------------------------- slim records

export interface PortRecord {
  /** Lowercased port name; "" for an unnamed port (no SRV). */
  name: string;
  /** Lowercased protocol: tcp, udp, sctp. */
  protocol: string;
  port: number;
}

export interface ServiceRecord {
  namespace: string;
  name: string;
  /** ClusterIPs (v4 and v6); empty for headless and ExternalName. */
  clusterIPs: string[];
  headless: boolean;
  /** Lowercased target without trailing dot, for ExternalName services. */
  externalName: string | undefined;
  publishNotReady: boolean;
  ports: PortRecord[];
}

export interface EndpointAddressRecord {
  ip: string;
  /** The endpoint's DNS label: its hostname, else the dashed IP. */
  hostname: string;
  ready: boolean;
}

/** One group of addresses sharing a port list (an Endpoints subset or a slice). */
export interface EndpointSetRecord {
  addresses: EndpointAddressRecord[];
  ports: PortRecord[];
}

export interface EndpointsRecord {
  namespace: string;
  /** The Service these endpoints belong to. */
  service: string;
  /** "endpoints" for an Endpoints object, "slice/<name>" for an EndpointSlice. */
  source: string;
  sets: EndpointSetRecord[];
}

export class RecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordError';
  }
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

function metaOf(kind: string, o: { metadata?: MetaLike }): { namespace: string; name: string } {
  const name = o.metadata?.name;
  const namespace = o.metadata?.namespace ?? 'default';
  if (!name) throw new RecordError(`${kind} without metadata.name`);
  return { namespace: namespace.toLowerCase(), name: name.toLowerCase() };
}

function slimPorts(ports: { name?: string; protocol?: string; port?: number }[] | undefined): PortRecord[] {
  const out: PortRecord[] = [];
  for (const p of ports ?? []) {
    if (typeof p.port !== 'number' || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535) continue;
    out.push({ name: (p.name ?? '').toLowerCase(), protocol: (p.protocol ?? 'TCP').toLowerCase(), port: p.port });
  }
  return out;
}

function isAddress(ip: string): boolean {
  return isIPv4(ip) || isIPv6(ip);
}

/**
 * The DNS label of an endpoint without a hostname: its dashed IP, as CoreDNS
 * does (IPv6: colons to dashes, a trailing dash gets a 0 appended).
 */
export function dashedIp(ip: string): string {
  if (isIPv4(ip)) return ip.replaceAll('.', '-');
  const d = ip.toLowerCase().replaceAll(':', '-');
  return d.endsWith('-') ? `${d}0` : d;
}

export function slimService(o: ServiceLike): ServiceRecord {
  const { namespace, name } = metaOf('Service', o);
  const spec = o.spec ?? {};
  const isExternal = spec.type === 'ExternalName';
  const raw = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  const clusterIPs = isExternal ? [] : raw.filter(isAddress);
  const headless = !isExternal && (raw.includes('None') || clusterIPs.length === 0);
  const ext = spec.externalName?.replace(/\.$/, '').toLowerCase();
  return {
    namespace,
    name,
    clusterIPs,
    headless,
    externalName: isExternal && ext ? ext : undefined,
    publishNotReady: spec.publishNotReadyAddresses === true,
    ports: slimPorts(spec.ports),
  };
}

export function slimEndpoints(o: EndpointsLike): EndpointsRecord {
  const { namespace, name } = metaOf('Endpoints', o);
  const sets: EndpointSetRecord[] = [];
  for (const s of o.subsets ?? []) {
    const addresses: EndpointAddressRecord[] = [];
    const add = (a: AddressLike, ready: boolean) => {
      if (!a || typeof a.ip !== 'string' || !isAddress(a.ip)) return;
      addresses.push({ ip: a.ip, hostname: (a.hostname || dashedIp(a.ip)).toLowerCase(), ready });
    };
    for (const a of s.addresses ?? []) add(a, true);
    for (const a of s.notReadyAddresses ?? []) add(a, false);
    sets.push({ addresses, ports: slimPorts(s.ports) });
  }
  return { namespace, service: name, source: 'endpoints', sets };
}

/** An EndpointSlice; undefined when it names no Service (nothing for DNS). */
export function slimEndpointSlice(o: EndpointSliceLike): EndpointsRecord | undefined {
  const { namespace, name } = metaOf('EndpointSlice', o);
  const service = o.metadata?.labels?.[SERVICE_NAME_LABEL];
  if (!service || o.addressType === 'FQDN') return undefined;
  const addresses: EndpointAddressRecord[] = [];
  for (const e of o.endpoints ?? []) {
    // CoreDNS treats a missing ready condition as ready.
    const ready = e.conditions?.ready !== false;
    for (const ip of e.addresses ?? []) {
      if (!isAddress(ip)) continue;
      addresses.push({ ip, hostname: (e.hostname || dashedIp(ip)).toLowerCase(), ready });
    }
  }
  return { namespace, service: service.toLowerCase(), source: `slice/${name}`, sets: [{ addresses, ports: slimPorts(o.ports) }] };
}

export function namespaceName(o: NamespaceLike): string {
  return metaOf('Namespace', o).name;
}

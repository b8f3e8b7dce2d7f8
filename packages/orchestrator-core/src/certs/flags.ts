import { isIP } from 'node:net';
import { Cidr, Command, FlagError, intFlag, listFlag, portFlag } from '@pilot/common';

/**
 * `pilot certs` flags → plain data (kubeadm's `init phase certs` and
 * `kubeconfig` names where it has one).
 */

export const DEFAULT_CERTS_DIR = '/etc/pilot';

export interface CertsNode {
  name: string;
  /** The addresses in its kubelet serving certificate (the apiserver dials the node's InternalIP). */
  ips: string[];
}

export interface CertsConfig {
  dir: string;
  force: boolean;
  /** Where kubeconfigs reach the apiserver: https://<host>:<port>. */
  server: string;
  /** The apiserver serving certificate's addresses and names (besides 127.0.0.1, the kubernetes service IP and its DNS names). */
  apiserverIps: string[];
  apiserverDnsNames: string[];
  /** etcd's serving certificate's addresses and names (besides 127.0.0.1, ::1, localhost). */
  etcdNames: string[];
  nodes: CertsNode[];
  days: number;
}

export interface CertsRawFlags {
  dir?: string;
  force?: boolean;
  apiserverAdvertiseAddress?: string;
  apiserverBindPort?: string;
  controlPlaneEndpoint?: string;
  apiserverCertExtraSans?: string;
  serviceCidr?: string;
  etcdServerCertExtraSans?: string;
  nodeName?: string[];
  days?: string;
}

const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_NAME = /^(\*\.)?[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$/;

export function certsCommand(): Command {
  return new Command('pilot certs')
    .description(
      "create a cluster's certificates, token file and kubeconfigs in --dir: the CA, the apiserver's serving certificate, a kubeconfig per component and per node, kubelet serving certificates, the apiserver's kubelet client certificate, and etcd's CA, server and client certificates; never overwrites a file unless --force",
    )
    .option('--dir <dir>', 'where to write them (created 0700)', DEFAULT_CERTS_DIR)
    .option('--force', 'replace existing files (every file is made again, from a new CA)', false)
    .option('--apiserver-advertise-address <ip>', "the apiserver's address: in its certificate, and the server of every kubeconfig (unless --control-plane-endpoint)")
    .option('--apiserver-bind-port <port>', "the apiserver's TLS port in the kubeconfigs", '6443')
    .option('--control-plane-endpoint <host[:port]>', 'the server of every kubeconfig instead (a load balancer or DNS name); it joins the certificate too')
    .option('--apiserver-cert-extra-sans <list>', "more IPs and DNS names for the apiserver's certificate, comma-separated")
    .option('--service-cidr <cidr>', "the service network; its first address (default/kubernetes) is in the apiserver's certificate", '10.0.0.0/24')
    .option('--etcd-server-cert-extra-sans <list>', "more IPs and DNS names for etcd's serving certificate (it always has 127.0.0.1, ::1, localhost and the advertise address)")
    .option('--node-name <name[=ip,...]>', 'a node: its kubeconfig (system:node:<name> in system:nodes) and kubelet serving certificate for its IPs (repeat per node)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--days <n>', 'validity of every certificate', '365');
}

function sansFlag(flag: string, text: string | undefined): { ips: string[]; dnsNames: string[] } {
  const ips: string[] = [];
  const dnsNames: string[] = [];
  for (const s of listFlag(text)) {
    if (isIP(s)) ips.push(s);
    else if (DNS_NAME.test(s)) dnsNames.push(s);
    else throw new FlagError(flag, `"${s}" is neither an IP address nor a DNS name`);
  }
  return { ips, dnsNames };
}

function nodeFlag(text: string): CertsNode {
  const [name = '', ips] = text.split('=', 2);
  if (!NODE_NAME.test(name) || name.length > 253) throw new FlagError('node-name', `"${name}" is not a node name (lowercase letters, digits, '-' and '.')`);
  const addrs = listFlag(ips);
  for (const ip of addrs) if (!isIP(ip)) throw new FlagError('node-name', `${name}: "${ip}" is not an IP address`);
  if (ips !== undefined && addrs.length === 0) throw new FlagError('node-name', `${name}=: no address after "="`);
  return { name, ips: addrs };
}

/** `host`, `host:port`, `[v6]:port` → host and port. */
function endpointFlag(text: string): { host: string; port: number | undefined } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(text.trim());
  const host = m?.[1] ?? m?.[2];
  if (!m || !host || !(isIP(host) || DNS_NAME.test(host))) throw new FlagError('control-plane-endpoint', `"${text}" is not host[:port]`);
  return { host, port: m[3] === undefined ? undefined : portFlag('control-plane-endpoint', m[3]) };
}

/** `defaultIp`: the address to advertise when no flag says (the default route's source), found by the caller. */
export function resolveCertsConfig(f: CertsRawFlags, defaultIp: string | undefined): CertsConfig {
  const dir = (f.dir ?? DEFAULT_CERTS_DIR).trim();
  if (!dir) throw new FlagError('dir', 'empty path');
  const advertise = f.apiserverAdvertiseAddress ?? defaultIp;
  if (advertise === undefined) throw new FlagError('apiserver-advertise-address', 'missing, and no default route to take it from');
  if (!isIP(advertise)) throw new FlagError('apiserver-advertise-address', `"${advertise}" is not an IP address`);
  const bindPort = portFlag('apiserver-bind-port', f.apiserverBindPort ?? '6443');
  if (bindPort === 0) throw new FlagError('apiserver-bind-port', 'must not be 0');
  let serviceCidr: Cidr;
  try {
    serviceCidr = Cidr.parse(f.serviceCidr ?? '10.0.0.0/24');
  } catch (err) {
    throw new FlagError('service-cidr', (err as Error).message);
  }
  const extra = sansFlag('apiserver-cert-extra-sans', f.apiserverCertExtraSans);
  const endpoint = f.controlPlaneEndpoint ? endpointFlag(f.controlPlaneEndpoint) : undefined;
  const serverHost = endpoint?.host ?? advertise;
  const server = `https://${serverHost.includes(':') ? `[${serverHost}]` : serverHost}:${endpoint?.port ?? bindPort}`;
  const etcd = sansFlag('etcd-server-cert-extra-sans', f.etcdServerCertExtraSans);
  const nodes = (f.nodeName ?? []).map(nodeFlag);
  const dup = nodes.find((n, i) => nodes.findIndex((m) => m.name === n.name) !== i);
  if (dup) throw new FlagError('node-name', `${dup.name} is given twice`);
  const epHost = endpoint ? [endpoint.host] : [];
  return {
    dir,
    force: f.force ?? false,
    server,
    apiserverIps: [...new Set([advertise, serviceCidr.nth(1), ...extra.ips, ...epHost.filter((h) => isIP(h))])],
    apiserverDnsNames: [...new Set([...extra.dnsNames, ...epHost.filter((h) => !isIP(h))])],
    etcdNames: [...new Set([advertise, ...etcd.ips, ...etcd.dnsNames])],
    nodes,
    days: intFlag('days', f.days ?? '365', 1, 36_500),
  };
}

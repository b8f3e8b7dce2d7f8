import { createHash } from 'node:crypto';

/**
 * kube-proxy's chain naming: iptables chain names are limited to 28
 * characters, so per-service and per-endpoint chains are named by a hash.
 * SHA-256 of the service-port name + lower-case protocol (+ endpoint
 * `ip:port` for KUBE-SEP), standard base32, first 16 characters. Keeping the
 * exact scheme means a chain name seen in `iptables-save` is the one an
 * operator used to kube-proxy expects for the same service.
 */

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 with padding (only the first 16 characters are ever used). */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = ((value << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  while (out.length % 8 !== 0) out += '=';
  return out;
}

function hash16(text: string): string {
  return base32(createHash('sha256').update(text).digest()).slice(0, 16);
}

/** `ns/svc:port` for a named port, `ns/svc` for an unnamed one (kube-proxy's ServicePortName). */
export function servicePortName(namespace: string, name: string, portName: string): string {
  return portName ? `${namespace}/${name}:${portName}` : `${namespace}/${name}`;
}

function serviceHash(spn: string, protocol: string): string {
  return hash16(spn + protocol.toLowerCase());
}

/** KUBE-SVC-<hash>: spreads a service port over its endpoints. */
export function serviceChainName(spn: string, protocol: string): string {
  return `KUBE-SVC-${serviceHash(spn, protocol)}`;
}

/** KUBE-EXT-<hash>: entry for NodePort, external and load-balancer IPs. */
export function externalChainName(spn: string, protocol: string): string {
  return `KUBE-EXT-${serviceHash(spn, protocol)}`;
}

/** KUBE-SVL-<hash>: spreads a service port over this node's endpoints only (Local traffic policy). */
export function localChainName(spn: string, protocol: string): string {
  return `KUBE-SVL-${serviceHash(spn, protocol)}`;
}

/** KUBE-FW-<hash>: load-balancer IP entry that lets only loadBalancerSourceRanges on to KUBE-EXT. */
export function firewallChainName(spn: string, protocol: string): string {
  return `KUBE-FW-${serviceHash(spn, protocol)}`;
}

/** KUBE-SEP-<hash>: one endpoint (DNAT + hairpin masquerade). */
export function endpointChainName(spn: string, protocol: string, endpoint: string): string {
  return `KUBE-SEP-${hash16(spn + protocol.toLowerCase() + endpoint)}`;
}

/** `ip:port`, IPv6 bracketed (Go's JoinHostPort), the endpoint string kube-proxy hashes. */
export function endpointString(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Prefixes of the per-service chains svcproxy owns (and may delete when stale). */
export const SERVICE_CHAIN_PREFIXES = ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-EXT-', 'KUBE-FW-', 'KUBE-SEP-'] as const;

export function isServiceChain(name: string): boolean {
  return SERVICE_CHAIN_PREFIXES.some((p) => name.startsWith(p));
}

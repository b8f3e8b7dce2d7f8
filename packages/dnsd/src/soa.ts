import { Type, type ResourceRecord } from './wire.js';

/**
 * The zone SOA carried in the authority section of every negative answer,
 * shaped as CoreDNS's: owner <zone>, TTL min(ttl, 300), MNAME ns.dns.<zone>,
 * RNAME hostmaster.<zone>, serial = time of the last index change,
 * refresh 7200, retry 1800, expire 86400, minimum = ttl (so a resolver caches
 * a negative answer exactly as long as a positive one).
 */
export function soaRecord(zone: string, ttl: number, serial: number): ResourceRecord {
  return {
    name: zone,
    ttl: Math.min(ttl, 300),
    data: {
      type: Type.SOA,
      mname: `ns.dns.${zone}`,
      rname: `hostmaster.${zone}`,
      serial: serial >>> 0,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: ttl,
    },
  };
}

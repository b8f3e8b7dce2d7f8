/**
 * Round-robin endpoint choice per service port, the way kube-proxy's
 * userspace LoadBalancerRR did it: the endpoint list is shuffled whenever its
 * membership changes (so every proxy in the cluster does not hammer the same
 * first endpoint), then walked in order; with ClientIP affinity a client keeps
 * its endpoint while it keeps coming back within the timeout.
 *
 * Pure: time and randomness are injected, no sockets.
 */

export interface AffinityPolicy {
  type: 'None' | 'ClientIP';
  /** How long an idle client keeps its endpoint (seconds). */
  ttlSeconds: number;
}

interface Sticky {
  endpoint: string;
  lastUsedMs: number;
}

interface ServiceBalance {
  /** `ip:port` strings, shuffled order. */
  endpoints: string[];
  /** Sorted copy, to tell a real membership change from a reordering. */
  sortedKey: string;
  index: number;
  affinity: AffinityPolicy;
  sticky: Map<string, Sticky>;
}

export interface BalancerOptions {
  now?: () => number;
  /** Uniform in [0, 1); Math.random by default. */
  random?: () => number;
}

export class RoundRobinBalancer {
  private readonly services = new Map<string, ServiceBalance>();
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(opts: BalancerOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  /**
   * Sets the endpoints and affinity of a service port. A change of the set
   * reshuffles and restarts the walk; sticky clients whose endpoint is gone
   * are forgotten (the others keep theirs). An unchanged set keeps its order.
   */
  update(key: string, endpoints: readonly string[], affinity: AffinityPolicy): void {
    const unique = [...new Set(endpoints)];
    const sortedKey = [...unique].sort().join(',');
    const cur = this.services.get(key);
    if (cur && cur.sortedKey === sortedKey) {
      if (cur.affinity.type !== affinity.type) cur.sticky.clear();
      cur.affinity = { ...affinity };
      return;
    }
    const sticky = cur?.sticky ?? new Map<string, Sticky>();
    const present = new Set(unique);
    for (const [client, s] of sticky) if (!present.has(s.endpoint)) sticky.delete(client);
    if (cur && cur.affinity.type !== affinity.type) sticky.clear();
    this.services.set(key, { endpoints: this.shuffle(unique), sortedKey, index: 0, affinity: { ...affinity }, sticky });
  }

  remove(key: string): void {
    this.services.delete(key);
  }

  has(key: string): boolean {
    return this.services.has(key);
  }

  /** Current endpoints of a service port, in walk order. */
  endpointsOf(key: string): readonly string[] {
    return this.services.get(key)?.endpoints ?? [];
  }

  /**
   * The endpoint for the next connection of `clientIP`, or undefined when the
   * service has none. `resetAffinity` (set after a failed connect) skips the
   * client's sticky endpoint and records a fresh choice. `clientIP` may be a
   * getter: it is only read for ClientIP affinity (a TCP peer address costs a
   * getpeername() syscall per connection).
   */
  next(key: string, clientIP: string | (() => string), resetAffinity = false): string | undefined {
    const s = this.services.get(key);
    if (!s || s.endpoints.length === 0) return undefined;
    if (s.affinity.type !== 'ClientIP') return walk(s);
    const ip = typeof clientIP === 'function' ? clientIP() : clientIP;
    const now = this.now();
    if (!resetAffinity) {
      const hit = s.sticky.get(ip);
      if (hit && now - hit.lastUsedMs < s.affinity.ttlSeconds * 1000) {
        hit.lastUsedMs = now;
        return hit.endpoint;
      }
    }
    const endpoint = walk(s);
    s.sticky.set(ip, { endpoint, lastUsedMs: now });
    return endpoint;
  }

  /** Forgets sticky clients idle longer than their service's timeout. */
  reap(): number {
    const now = this.now();
    let n = 0;
    for (const s of this.services.values()) {
      const ttlMs = s.affinity.ttlSeconds * 1000;
      for (const [client, st] of s.sticky) {
        if (now - st.lastUsedMs >= ttlMs) {
          s.sticky.delete(client);
          n++;
        }
      }
    }
    return n;
  }

  /** Fisher–Yates with the injected random source. */
  private shuffle(list: string[]): string[] {
    const out = [...list];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

/** The next endpoint in walk order (the list is not empty). */
function walk(s: ServiceBalance): string {
  const endpoint = s.endpoints[s.index % s.endpoints.length]!;
  s.index = (s.index + 1) % s.endpoints.length;
  return endpoint;
}

import { createLogger, type Logger } from '@pilot/common';
import { Registry } from 'prom-client';
import { endpointKey, type ProxyState, type ServicePortInfo } from '../model.js';
import type { PortalRuleSink } from './apply.js';
import { rateLimitedWarn, type PortalContext } from './context.js';
import { DescriptorWatch } from './descriptors.js';
import { DIAL_TIMEOUTS_MS } from './dial.js';
import { createUserspaceMetrics, type ServiceTraffic, type UserspaceMetrics } from './metrics.js';
import { RoundRobinBalancer } from './roundrobin.js';
import { buildPortalRules, type Portal } from './rules.js';
import { SourceConnectionLimit } from './source-limit.js';
import { TcpPortal } from './tcp.js';
import { UdpPortal } from './udp.js';

/**
 * svcproxy's userspace mode: one listener per service port on `listenIP`,
 * round-robin to the endpoints, and redirect rules that send the service's
 * addresses to those listeners. `sync(state)` takes the whole desired model
 * each time (idempotent); listeners of unchanged service ports keep their
 * port, so the rules only change when services come or go.
 */

export interface UserspaceProxierOptions {
  /** Concrete local address the listeners bind to and the rules DNAT to (the node IP). */
  listenIP: string;
  rules: PortalRuleSink;
  registry?: Registry;
  log?: Logger;
  /** UDP session idle timeout (kube-proxy's --udp-timeout; 250 ms). */
  udpIdleTimeoutMs?: number;
  /** Connect timeouts, one per attempt (250 ms, 500 ms, 1 s, 2 s). */
  dialTimeoutsMs?: readonly number[];
  balancer?: RoundRobinBalancer;
  /** How often the proxy checks its own descriptors to report exhaustion (0: never). */
  descriptorCheckMs?: number;
  /** TCP connections one client address may hold at once across all service ports (0: no cap). */
  maxConnectionsPerSource?: number;
}

export const DEFAULT_UDP_IDLE_TIMEOUT_MS = 250;
export const DEFAULT_DESCRIPTOR_CHECK_MS = 2_000;
/** A host's worth of connections from one client, far below the descriptors a proxy gets. */
export const DEFAULT_MAX_CONNECTIONS_PER_SOURCE = 1024;

type Listener = TcpPortal | UdpPortal;

interface Entry {
  svc: ServicePortInfo;
  listener: Listener | undefined;
}

export interface UserspaceSyncResult {
  services: number;
  /** Service ports proxied with at least one endpoint. */
  withEndpoints: number;
  /** Service ports skipped (unsupported protocol, listener failure), with why. */
  skipped: string[];
}

export class UserspaceProxier {
  private readonly entries = new Map<string, Entry>();
  private readonly balancer: RoundRobinBalancer;
  private readonly metrics: UserspaceMetrics;
  private readonly log: Logger;
  private readonly warnLimited: (what: string, err: Error) => void;
  private readonly udpIdleMs: number;
  private readonly dialTimeoutsMs: readonly number[];
  /** Closed listeners whose connections still drain (counted in traffic until gone). */
  private readonly draining = new Set<Listener>();
  private readonly descriptors: DescriptorWatch;
  private readonly sourceLimit: SourceConnectionLimit;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  lastSync: { at: Date; ok: boolean; error?: string } | undefined;

  constructor(private readonly opts: UserspaceProxierOptions) {
    if (opts.listenIP === '0.0.0.0' || opts.listenIP === '') throw new Error('userspace proxy: listen address must be a concrete local IP (the node IP), not 0.0.0.0');
    this.log = opts.log ?? createLogger('svcproxy-userspace');
    this.balancer = opts.balancer ?? new RoundRobinBalancer();
    this.udpIdleMs = opts.udpIdleTimeoutMs ?? DEFAULT_UDP_IDLE_TIMEOUT_MS;
    if (!(this.udpIdleMs > 0)) throw new Error(`userspace proxy: UDP idle timeout must be positive, got ${this.udpIdleMs} ms`);
    this.dialTimeoutsMs = opts.dialTimeoutsMs ?? DIAL_TIMEOUTS_MS;
    this.warnLimited = rateLimitedWarn(this.log);
    this.sourceLimit = new SourceConnectionLimit(opts.maxConnectionsPerSource ?? DEFAULT_MAX_CONNECTIONS_PER_SOURCE);
    this.metrics = createUserspaceMetrics(opts.registry ?? new Registry(), () => this.traffic());
    this.descriptors = new DescriptorWatch({ log: this.log, intervalMs: opts.descriptorCheckMs ?? DEFAULT_DESCRIPTOR_CHECK_MS });
    this.descriptors.start();
  }

  /** Brings listeners, balancer and rules to `state`. Calls are serialized. */
  sync(state: ProxyState): Promise<UserspaceSyncResult> {
    const next = this.queue.then(() => this.doSync(state));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** The proxy port of a service port (0 when it has no listener). */
  portOf(key: string): number {
    return this.entries.get(key)?.listener?.port ?? 0;
  }

  traffic(): ServiceTraffic[] {
    const out: ServiceTraffic[] = [];
    for (const e of this.entries.values()) if (e.listener) out.push(e.listener.traffic());
    for (const l of this.draining) {
      const t = l.traffic();
      if (t.active > 0) out.push(t);
      else this.draining.delete(l);
    }
    return out;
  }

  /** Stops every listener and resets open connections. Rules stay (a restart rewrites them); see `cleanup`. */
  async close(): Promise<void> {
    this.closed = true;
    this.descriptors.stop();
    await this.queue;
    await Promise.all([...this.entries.values()].map((e) => e.listener?.destroy()));
    await Promise.all([...this.draining].map((l) => l.destroy()));
    this.entries.clear();
    this.draining.clear();
  }

  private context(key: string): PortalContext {
    return { key, balancer: this.balancer, metrics: this.metrics, log: this.log, dialTimeoutsMs: this.dialTimeoutsMs, sourceLimit: this.sourceLimit, warnLimited: this.warnLimited };
  }

  private async doSync(state: ProxyState): Promise<UserspaceSyncResult> {
    if (this.closed) throw new Error('userspace proxy is closed');
    const skipped: string[] = [];
    const wanted = new Map<string, ServicePortInfo>();
    for (const [key, svc] of state.services) {
      if (svc.protocol === 'SCTP') {
        skipped.push(`${key}: SCTP is not supported by the userspace proxy`);
        continue;
      }
      wanted.set(key, svc);
    }

    // Gone, or changed protocol: stop accepting, let open connections drain.
    for (const [key, e] of this.entries) {
      const w = wanted.get(key);
      if (!w || w.protocol !== e.svc.protocol) {
        this.entries.delete(key);
        this.balancer.remove(key);
        if (e.listener) {
          this.draining.add(e.listener);
          await e.listener.close();
        }
        this.log.info({ service: key }, 'service port removed; listener closed, open connections drain');
      }
    }

    const portals: Portal[] = [];
    let withEndpoints = 0;
    for (const [key, svc] of wanted) {
      const endpoints = (state.endpoints.get(key) ?? []).filter((ep) => ep.ready).map(endpointKey);
      this.balancer.update(key, endpoints, { type: svc.sessionAffinity, ttlSeconds: svc.stickySeconds });
      let e = this.entries.get(key);
      if (!e) {
        e = { svc, listener: undefined };
        this.entries.set(key, e);
      }
      e.svc = svc;
      if (!e.listener) {
        try {
          e.listener = await this.open(key, svc);
          this.log.info({ service: key, protocol: svc.protocol, listen: `${this.opts.listenIP}:${e.listener.port}` }, 'service port listening');
        } catch (err) {
          skipped.push((err as Error).message);
          this.log.error({ service: key, err: (err as Error).message }, 'cannot open listener; service port rejected until the next sync');
        }
      }
      if (endpoints.length > 0 && e.listener) withEndpoints++;
      portals.push({
        key,
        protocol: svc.protocol as 'TCP' | 'UDP',
        clusterIP: svc.clusterIP,
        port: svc.port,
        ...(svc.nodePort !== undefined ? { nodePort: svc.nodePort } : {}),
        externalIPs: svc.externalIPs,
        loadBalancerIPs: svc.loadBalancerIPs,
        proxyPort: e.listener?.port ?? 0,
        hasEndpoints: endpoints.length > 0,
      });
    }
    this.balancer.reap();

    try {
      await this.opts.rules.apply(buildPortalRules(portals, { listenIP: this.opts.listenIP }));
      this.lastSync = { at: new Date(), ok: true };
    } catch (err) {
      this.lastSync = { at: new Date(), ok: false, error: (err as Error).message };
      throw err;
    }
    return { services: portals.length, withEndpoints, skipped };
  }

  private async open(key: string, svc: ServicePortInfo): Promise<Listener> {
    const ctx = this.context(key);
    const l = svc.protocol === 'UDP' ? new UdpPortal(ctx, this.opts.listenIP, this.udpIdleMs) : new TcpPortal(ctx, this.opts.listenIP);
    await l.listen(0);
    return l;
  }
}

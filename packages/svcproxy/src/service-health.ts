import { createServer, type Server } from 'node:http';
import type { Logger } from '@pilot/common';
import type { ServiceRules } from './iptables/rules.js';

/**
 * kube-proxy's service health server: for each LoadBalancer service with
 * externalTrafficPolicy Local, an HTTP listener on its healthCheckNodePort
 * that answers 200 while this node has endpoints of the service and 503
 * otherwise, so the load balancer only sends traffic to nodes that keep it
 * (the Local policy drops it everywhere else).
 */

export interface ServiceHealth {
  namespace: string;
  name: string;
  /** Ready endpoints of the service on this node. */
  localEndpoints: number;
}

/** Status and JSON body for one request (any path), as kube-proxy writes them. */
export function healthResponse(h: ServiceHealth): { status: number; body: string } {
  return {
    status: h.localEndpoints > 0 ? 200 : 503,
    body: JSON.stringify({ service: { namespace: h.namespace, name: h.name }, localEndpoints: h.localEndpoints }),
  };
}

/**
 * Health-check port → service, from the programmed rules. A service's ports
 * share its health check, so local endpoints are counted once per IP across
 * them. Two services claiming one port: the first by name keeps it, the other
 * is reported.
 */
export function desiredHealthChecks(rules: Iterable<ServiceRules>, warn: (message: string) => void = () => {}): Map<number, ServiceHealth> {
  const bySvc = new Map<string, { port: number; namespace: string; name: string; ips: Set<string> }>();
  const sorted = [...rules].filter((r) => r.svc.healthCheckNodePort !== undefined).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const r of sorted) {
    const id = `${r.svc.namespace}/${r.svc.name}`;
    let s = bySvc.get(id);
    if (!s) bySvc.set(id, (s = { port: r.svc.healthCheckNodePort!, namespace: r.svc.namespace, name: r.svc.name, ips: new Set() }));
    for (const e of r.endpoints) if (e.isLocal) s.ips.add(e.ip);
  }
  const out = new Map<number, ServiceHealth>();
  const owner = new Map<number, string>();
  for (const [id, s] of bySvc) {
    const other = owner.get(s.port);
    if (other !== undefined) {
      warn(`service ${id}: healthCheckNodePort ${s.port} is already used by service ${other}; not served`);
      continue;
    }
    owner.set(s.port, id);
    out.set(s.port, { namespace: s.namespace, name: s.name, localEndpoints: s.ips.size });
  }
  return out;
}

export interface ServiceHealthServerOptions {
  log: Logger;
  /** Address the listeners bind to (default all: the load balancer probes a node address). */
  host?: string;
}

/**
 * The listeners themselves: `update()` opens a port for each new health
 * check, closes the ones gone, and swaps in the current counts (a request
 * always reads the latest). A port that cannot be bound (in use) is logged
 * and tried again on the next update.
 */
export class ServiceHealthServer {
  private readonly servers = new Map<number, Server>();
  private current = new Map<number, ServiceHealth>();

  constructor(private readonly opts: ServiceHealthServerOptions) {}

  async update(desired: ReadonlyMap<number, ServiceHealth>): Promise<void> {
    this.current = new Map(desired);
    for (const [port, server] of this.servers) {
      if (desired.has(port)) continue;
      this.servers.delete(port);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      this.opts.log.info({ port }, 'service health check closed');
    }
    for (const [port, h] of desired) {
      if (this.servers.has(port)) continue;
      try {
        this.servers.set(port, await this.listen(port));
        this.opts.log.info({ port, service: `${h.namespace}/${h.name}` }, 'service health check listening');
      } catch (err) {
        this.opts.log.warn({ port, service: `${h.namespace}/${h.name}`, err: (err as Error).message }, 'service health check port could not be opened; retrying on the next sync');
      }
    }
  }

  /** Ports currently listening. */
  get ports(): number[] {
    return [...this.servers.keys()].sort((a, b) => a - b);
  }

  private listen(port: number): Promise<Server> {
    const server = createServer((req, res) => {
      const h = this.current.get(port);
      // Between a service's removal and the listener's close: nothing to report.
      const { status, body } = h ? healthResponse(h) : { status: 503, body: '{}' };
      res.writeHead(status, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' });
      res.end(body);
      req.resume();
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.opts.host ?? '0.0.0.0', () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }

  async close(): Promise<void> {
    await this.update(new Map());
  }
}

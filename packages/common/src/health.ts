import { createServer, type Server } from 'node:http';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { registerBuildInfo } from './build-info.js';

export interface HealthStatus {
  ok: boolean;
  /** Why it is not healthy, or a short state summary. */
  message?: string;
}

export interface HealthServerOptions {
  port: number;
  host?: string;
  registry: Registry;
  healthz: () => HealthStatus;
  /** Extra readiness check for /readyz; defaults to healthz. */
  readyz?: () => HealthStatus;
  /** More plain-text GET paths (kube-proxy's /proxyMode). */
  text?: Record<string, () => string>;
  /** More paths answering as /readyz does (CoreDNS's /ready). */
  readyPaths?: readonly string[];
}

/**
 * How often the event-loop delay histogram (nodejs_eventloop_lag_*) samples.
 * prom-client's default, 10 ms, wakes an idle daemon a hundred times a
 * second: about 0.3 % of a core per process, most of what nine idle pilot
 * processes cost (bench/up). Once a second still shows a loop that stalls.
 */
const EVENT_LOOP_SAMPLE_MS = 1000;

/**
 * Every daemon's metrics registry, with Node's process metrics and the
 * `<component>_build_info` gauge in it.
 */
export function createRegistry(component: string): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  registerBuildInfo(registry, component);
  return registry;
}

/**
 * The one HTTP port a daemon serves: /healthz, /readyz and Prometheus
 * /metrics. Resolves once listening; the returned server's address has the port.
 */
export async function startHealthServer(opts: HealthServerOptions): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: HealthStatus) => {
      res.writeHead(status.ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${status.ok ? 'ok' : 'unhealthy'}${status.message ? `: ${status.message}` : ''}\n`);
    };
    if (path === '/healthz' || path === '/livez') return reply(opts.healthz());
    if (path === '/readyz' || (path && opts.readyPaths?.includes(path))) return reply((opts.readyz ?? opts.healthz)());
    const text = path ? opts.text?.[path] : undefined;
    if (text) {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(text());
      return;
    }
    if (path === '/metrics') {
      opts.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': opts.registry.contentType });
          res.end(text);
        },
        (err: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics: ${err.message}\n`);
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

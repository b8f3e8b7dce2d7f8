import { fileURLToPath } from 'node:url';
import type { ApiClient } from '@pilot/api';
import { createLogger, waitFor } from '@pilot/common';
import { Cluster, freeLocalPort, startInProcess, withLogsOnFailure, waitForPort, type Host, type InProcess, type NetnsPod } from '@pilot/netns';
import { netnsRunner, parseOptions } from '@pilot/svcproxy';
import { Svcproxy } from '../../../packages/svcproxy/src/daemon.js';

/**
 * The svcproxy daemon end to end with the real apiserver: informers on
 * Services and Endpoints, the bounded-frequency runner, /healthz and /metrics.
 * The apiserver and the daemon run in this process (the apiserver's plain
 * port is loopback-only); the daemon's kernel commands go into a host
 * namespace through its injectable runner.
 */

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const NODE = process.execPath;

async function answers(from: NetnsPod, ip: string, port: number, count: number): Promise<{ counts: Record<string, number>; errors: Record<string, number> }> {
  const r = await from.exec([NODE, fixture('client.mjs'), 'tcp', ip, String(port), String(count)], { timeoutMs: 60_000, env: { CLIENT_TIMEOUT_MS: '2000' } });
  if (r.exitCode !== 0) throw new Error(`client exited ${r.exitCode}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('svcproxy daemon with the apiserver', () => {
  let c: Cluster | undefined;
  let h1: Host;
  let p1: NetnsPod;
  let p2: NetnsPod;
  let clientPod: NetnsPod;
  let api: InProcess | undefined;
  let client: ApiClient;
  let healthPort = 0;
  const ac = new AbortController();
  let running: Promise<void> | undefined;

  beforeAll(async () => {
    c = await Cluster.create({ hosts: 1, etcd: true });
    h1 = c.hosts[0]!;
    await h1.configureBridge('10.1.1.1/24');
    p1 = await h1.addPod();
    p2 = await h1.addPod();
    clientPod = await h1.addPod();
    for (const p of [p1, p2]) p.spawn('echo', [NODE, fixture('echo-server.mjs'), p.ip, '8080']);
    for (const p of [p1, p2]) await waitForPort(h1, p.ip, 8080);

    api = await startInProcess(c, { etcdPrefix: `/svcproxy-e2e-${c.prefix}` });
    client = api.client;

    const opts = parseOptions({
      master: api.url,
      clusterCidr: '10.1.0.0/16',
      hostnameOverride: 'h1',
      minSyncPeriod: '100ms',
      syncPeriod: '2s',
      healthzBindAddress: '127.0.0.1',
      healthzPort: String(await freeLocalPort()),
      // This daemon runs in the test's own namespace: not kube-proxy's fixed 10249.
      metricsBindAddress: `127.0.0.1:${await freeLocalPort()}`,
    });
    const daemon = new Svcproxy(opts, {
      log: createLogger('svcproxy', { level: 'error' }),
      runner: netnsRunner(h1.ns),
      onListening: (port) => (healthPort = port),
    });
    running = daemon.run(ac.signal);
  }, 120_000);

  afterAll(async () => {
    ac.abort();
    await running?.catch(() => undefined);
    await api?.close();
    await c?.teardown();
  });

  it(
    'programs a Service and follows its Endpoints written through the API',
    withLogsOnFailure(
      () => c,
      async () => {
        await client.create('services', { metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.0.0.150', ports: [{ name: 'http', port: 80, targetPort: 8080 }] } }, { namespace: 'default' });
        const endpoints = (ips: string[]) => ({
          metadata: { name: 'web', namespace: 'default' },
          subsets: [{ addresses: ips.map((ip) => ({ ip })), ports: [{ name: 'http', port: 8080 }] }],
        });
        await client.create('endpoints', endpoints([p1.ip, p2.ip]), { namespace: 'default' });
        await waitFor(async () => Object.keys((await answers(clientPod, '10.0.0.150', 80, 40)).counts).length === 2, {
          what: 'the ClusterIP to reach both endpoints',
          timeoutMs: 30_000,
        });

        const cur = await client.get('endpoints', 'web', { namespace: 'default' });
        await client.update('endpoints', { ...cur, subsets: endpoints([p2.ip]).subsets }, { namespace: 'default' });
        await waitFor(async () => JSON.stringify((await answers(clientPod, '10.0.0.150', 80, 20)).counts) === JSON.stringify({ [p2.ip]: 20 }), {
          what: 'traffic to follow the Endpoints update to p2 only',
          timeoutMs: 30_000,
        });

        await client.delete('endpoints', 'web', { namespace: 'default' });
        await waitFor(async () => (await answers(clientPod, '10.0.0.150', 80, 1)).errors.ECONNREFUSED === 1, {
          what: 'the service without endpoints to be refused',
          timeoutMs: 30_000,
        });
      },
    ),
  );

  it(
    'serves /healthz and kube-proxy-named /metrics',
    withLogsOnFailure(
      () => c,
      async () => {
        const health = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
        expect(health.status).toBe(200);
        const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
        expect(metrics).toMatch(/^kubeproxy_sync_proxy_rules_duration_seconds_count \d+/m);
        expect(metrics).toMatch(/^kubeproxy_sync_partial_proxy_rules_duration_seconds_count [1-9]/m);
        // web plus the apiserver's own default/kubernetes service.
        expect(metrics).toMatch(/^svcproxy_programmed_service_ports [1-9]\d*$/m);
        expect(metrics).toMatch(/^kubeproxy_sync_proxy_rules_last_timestamp_seconds \d/m);
        expect(metrics).toMatch(/^svcproxy_build_info\{version="[^"]+",git_commit="([0-9a-f]{40}|unknown)",.*\} 1$/m);
      },
    ),
  );
});

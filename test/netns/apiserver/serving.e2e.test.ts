import { resolve } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { ApiClient, Informer, type Endpoints, type Pod } from '@pilot/api';
import { createLogger, run, waitFor } from '@pilot/common';
import { Cluster, PILOT_BIN as PILOT, startControlPlane, withLogsOnFailure, writeKubeconfig, type ControlPlane, type Daemon, type Pki } from '@pilot/netns';
import { pod } from './helpers.js';

/**
 * The `pilot apiserver` binary as deployed: in the master namespace, plain
 * HTTP on the master's loopback, TLS + bearer token on its underlay address.
 * Clients in host namespaces use a kubeconfig; the real kubectl talks to it.
 */

const API_DIST = resolve('packages/api/dist/index.js');

let c: Cluster | undefined;
let cp: ControlPlane | undefined;
let pki: Pki;
let apiserver: Daemon;
let securePort: number;
let insecurePort: number;
let secureUrl: string;
let kubeconfig: string;
let client: ApiClient;

beforeAll(async () => {
  c = await Cluster.create({ hosts: 1, etcd: true });
  cp = await startControlPlane(c, { flags: ['--etcd-compaction-interval', '1m'] });
  ({ pki, securePort, insecurePort, url: secureUrl, client, daemon: apiserver } = cp);
  kubeconfig = cp.kubeconfigFor();
});

afterAll(async () => {
  await cp?.close();
  await c?.teardown();
});

const t = (name: string, fn: () => Promise<void>) => it(name, withLogsOnFailure(() => c, fn));

describe('pilot apiserver binary', () => {
  t('from a host namespace, the generated kubeconfig (CA + token) lists pods over TLS; no token is 401', async () => {
    await client.create('pods', pod('seen-from-host'), { namespace: 'default' });
    const h1 = c!.hosts[0]!;
    const script = `import { ApiClient } from ${JSON.stringify(API_DIST)};
      const c = ApiClient.fromKubeconfig(${JSON.stringify(kubeconfig)});
      const l = await c.list('pods', { namespace: 'default' });
      console.log(JSON.stringify(l.items.map((p) => p.metadata.name)));
      c.close();`;
    const r = await h1.execOk([process.execPath, '--input-type=module', '-e', script]);
    expect(JSON.parse(r.stdout.trim())).toContain('seen-from-host');

    const url = `${secureUrl}/api/v1/namespaces/default/pods`;
    const anon = await h1.exec(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', pki.caFile, url]);
    expect(anon.stdout).toBe('401');
    const wrong = await h1.exec(['curl', '-s', '--cacert', pki.caFile, '-H', 'Authorization: Bearer not-the-token', url]);
    expect(JSON.parse(wrong.stdout)).toMatchObject({ kind: 'Status', code: 401, reason: 'Unauthorized' });
    const ok = await h1.exec(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', pki.caFile, '-H', `Authorization: Bearer ${pki.token}`, url]);
    expect(ok.stdout).toBe('200');
    // The insecure port is the master's loopback only: nothing on the underlay.
    const plain = await h1.exec(['curl', '-s', '-m', '3', '-o', '/dev/null', '-w', '%{http_code}', `http://${c!.master.ip}:${insecurePort}/api`]);
    expect(plain.stdout).toBe('000');
  });

  t('publishes default/kubernetes with the advertised address and secure port, mirrored to an EndpointSlice', async () => {
    const ep = await client.get<Endpoints>('endpoints', 'kubernetes', { namespace: 'default' });
    expect(ep.subsets).toEqual([{ addresses: [{ ip: c!.master.ip }], ports: [{ name: 'https', port: securePort, protocol: 'TCP' }] }]);
    const slices = await client.list('endpointslices', { namespace: 'default', labelSelector: 'kubernetes.io/service-name=kubernetes' });
    expect(slices.items).toHaveLength(1);
  });

  t('plain kubectl works on the insecure port (legacy discovery) and over TLS with the kubeconfig', async () => {
    const dir = `${c!.master.stateDir}/kubectl`;
    mkdirSync(dir, { recursive: true });
    const local = writeKubeconfig(`${dir}/local.kubeconfig`, { server: `http://127.0.0.1:${insecurePort}` });
    const kubectl = (kc: string, args: string[], host = c!.master) => host.execOk(['kubectl', '--kubeconfig', kc, '--cache-dir', `${dir}/cache-${host.name}`, ...args], { timeoutMs: 60_000 });
    const svc = JSON.parse((await kubectl(local, ['get', '--raw', '/api/v1/namespaces/default/services/kubernetes'])).stdout);
    expect(svc).toMatchObject({ kind: 'Service', metadata: { name: 'kubernetes' }, spec: { clusterIP: '10.0.0.1' } });
    const ns = (await kubectl(local, ['get', 'ns', '-o', 'name'])).stdout.trim().split('\n');
    expect(ns).toEqual(expect.arrayContaining(['namespace/default', 'namespace/kube-system', 'namespace/kube-node-lease']));
    const version = (await kubectl(local, ['version', '-o', 'json'])).stdout;
    expect(JSON.parse(version).serverVersion).toMatchObject({ major: '1', minor: '32' });
    const remote = (await kubectl(kubeconfig, ['get', 'pods', '-n', 'default', '-o', 'name'], c!.hosts[0]!)).stdout;
    expect(remote).toContain('pod/seen-from-host');
    // Server-side Tables give kubectl its columns; OpenAPI lets create -f validate.
    const table = (await kubectl(local, ['get', 'pods', '-n', 'default'])).stdout;
    expect(table).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);
    expect(table).toMatch(/seen-from-host\s+0\/1\s+Pending/);
    writeFileSync(`${dir}/pod.yaml`, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: from-file\nspec:\n  containers:\n  - name: c\n    image: busybox\n');
    expect((await kubectl(local, ['create', '-f', `${dir}/pod.yaml`])).stdout).toContain('pod/from-file created');
    expect((await client.get('pods', 'from-file', { namespace: 'default' })).metadata.name).toBe('from-file');
    // An unscheduled pod goes at once, so kubectl's wait-for-deletion returns.
    expect((await kubectl(local, ['delete', 'pod', 'from-file'])).stdout).toContain('pod "from-file" deleted');
    const missing = await c!.master.exec(['kubectl', '--kubeconfig', local, '--cache-dir', `${dir}/cache-master`, 'get', 'pod', 'nope']);
    expect(missing.exitCode).not.toBe(0);
    expect(missing.stderr).toContain('Error from server (NotFound): pods "nope" not found');
  });

  t('refuses a non-loopback insecure bind address with one line naming the flag', async () => {
    const r = await run([process.execPath, PILOT, 'apiserver', '--etcd-servers', c!.etcd!.endpoint, '--insecure-bind-address', '0.0.0.0'], { check: false, timeoutMs: 20_000 });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--insecure-bind-address');
  });

  t('an informer survives an apiserver restart and an etcd restart and ends equal to the server list', async () => {
    await client.create('namespaces', { metadata: { name: 'survive' } });
    for (let i = 0; i < 3; i++) await client.create('pods', pod(`s-${i}`), { namespace: 'survive' });
    const inf = new Informer<Pod>(client, 'pods', { namespace: 'survive', logger: createLogger('informer', { level: 'silent' }), backoff: { initialMs: 100, maxMs: 1_000 } });
    const ac = new AbortController();
    const running = inf.start(ac.signal);
    const converged = (what: string) =>
      waitFor(
        async () => {
          const server = (await client.list('pods', { namespace: 'survive' })).items.map((p) => `${p.metadata.name}@${p.metadata.resourceVersion}`).sort();
          const local = inf.indexer.list().map((p) => `${p.metadata.name}@${p.metadata.resourceVersion}`).sort();
          return JSON.stringify(server) === JSON.stringify(local) ? local : false;
        },
        { what, timeoutMs: 30_000, intervalMs: 200 },
      );
    try {
      await inf.waitForSync(ac.signal);
      await apiserver.restart();
      await waitFor(async () => (await client.list('namespaces')).items.length > 0, { what: 'the apiserver to serve again', timeoutMs: 30_000 });
      await client.delete('pods', 's-0', { namespace: 'survive' });
      await client.create('pods', pod('s-3'), { namespace: 'survive' });
      expect((await converged('the informer to catch up after the apiserver restart')).map((s) => s.split('@')[0])).toEqual(['s-1', 's-2', 's-3']);

      await c!.etcd!.restart();
      await waitFor(async () => (await client.create('pods', pod('s-4'), { namespace: 'survive' })).metadata.name, { what: 'writes to work after the etcd restart', timeoutMs: 30_000 });
      await client.patch('pods', 's-1', { metadata: { labels: { after: 'etcd-restart' } } }, 'merge', { namespace: 'survive' });
      const final = await converged('the informer to catch up after the etcd restart');
      expect(final.map((s) => s.split('@')[0])).toEqual(['s-1', 's-2', 's-3', 's-4']);
      expect(inf.indexer.list().find((p) => p.metadata.name === 's-1')?.metadata.labels?.after).toBe('etcd-restart');
    } finally {
      ac.abort();
      await running;
    }
  });
});

import { fileURLToPath } from 'node:url';
import { type Endpoints, type Service } from '@pilot/api';
import { run, waitFor } from '@pilot/common';
import { Cluster, Daemon, freeLocalPort, startInProcess, withLogsOnFailure, type InProcess } from '@pilot/netns';
import { parseDig, type DigResult } from './dig.js';

/**
 * dnsd backed by a real apiserver (over the harness's real etcd): objects
 * created through the API are answered to the real dig, and two dnsd
 * processes register themselves in kube-system/kube-dns — a SIGKILLed one
 * drops out when its Lease expires, a stopped one withdraws at once.
 * Everything runs in the root namespace on the run's own underlay addresses.
 */

const DNSD = fileURLToPath(new URL('../../../packages/dnsd/dist/bin/dnsd.js', import.meta.url));
const Z = 'cluster.local';

describe('dnsd with the apiserver', () => {
  let c: Cluster | undefined;
  let api: InProcess;
  let port: number;
  let ipA: string;
  let ipB: string;
  let a: Daemon;
  let b: Daemon;

  const spawnDnsd = (name: string, ip: string, healthz: number): Daemon => {
    const d = new Daemon(
      {
        name: `root/${name}`,
        netns: undefined,
        argv: [
          process.execPath,
          DNSD,
          '--master',
          api.url,
          '--listen',
          `${ip}:${port}`,
          '--advertise-address',
          ip,
          '--register-service',
          '--lease-duration',
          '3s',
          '--upstream',
          '127.0.0.1:9',
          '--healthz-port',
          String(healthz),
        ],
        logPath: `${c!.stateDir}/logs/root-${name}.log`,
      },
      (pid) => c!.rememberPid(pid),
    );
    c!.track(d);
    return d.start();
  };

  const dig = async (...args: string[]): Promise<DigResult> =>
    parseDig((await run(['dig', `@${ipA}`, '-p', String(port), '+tries=1', '+time=4', ...args], { check: false, timeoutMs: 20_000 })).stdout);

  const kubeDnsAddresses = async (): Promise<string[]> => {
    const ep = await api.client.get<Endpoints>('endpoints', 'kube-dns', { namespace: 'kube-system' }).catch(() => undefined);
    return (ep?.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((x) => x.ip)).sort();
  };

  beforeAll(async () => {
    c = await Cluster.create({ hosts: 0, etcd: true });
    api = await startInProcess(c);
    ipA = c.rootIp;
    ipB = c.underlay.nth(250);
    // A second address of the run's own root veth (removed with it at teardown).
    await run(['ip', 'addr', 'add', `${ipB}/${c.underlay.prefix}`, 'dev', `${c.prefix}r`]);
    port = await freeLocalPort();
    a = spawnDnsd('dnsd-a', ipA, await freeLocalPort());
    b = spawnDnsd('dnsd-b', ipB, await freeLocalPort());
    await a.waitForLog('records synced from the API', 30_000);
    await b.waitForLog('records synced from the API', 30_000);
  }, 120_000);

  afterAll(async () => {
    api?.client.close();
    await api?.server.close();
    await c?.teardown();
  });

  const get = () => c;

  it(
    'answers objects created through the API; a new service resolves and a deleted one goes away',
    withLogsOnFailure(get, async () => {
      // The apiserver's own bootstrap service.
      expect((await dig(`kubernetes.default.svc.${Z}`, 'A')).answer.map((r) => r.data)).toEqual(['10.0.0.1']);

      const svc = await api.client.create<Service>('services', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'frontend', namespace: 'default' },
        spec: { selector: { app: 'frontend' }, ports: [{ name: 'http', port: 8888, protocol: 'TCP' }] },
      });
      const ip = svc.spec!.clusterIP!;
      await waitFor(async () => (await dig(`frontend.default.svc.${Z}`, 'A')).answer[0]?.data === ip, { timeoutMs: 15_000, what: 'frontend resolvable' });
      expect((await dig(`_http._tcp.frontend.default.svc.${Z}`, 'SRV')).answer.map((r) => r.data)).toEqual([`0 100 8888 frontend.default.svc.${Z}.`]);
      expect((await dig('-x', ip)).answer.map((r) => r.data)).toEqual([`frontend.default.svc.${Z}.`]);
      const nodata = await dig(`frontend.default.svc.${Z}`, 'AAAA');
      expect([nodata.status, nodata.answer.length, nodata.authority[0]?.type]).toEqual(['NOERROR', 0, 'SOA']);
      const nx = await dig(`missing.default.svc.${Z}`, 'A');
      expect([nx.status, nx.authority[0]?.type]).toEqual(['NXDOMAIN', 'SOA']);

      // Headless with 100 endpoints: TC over UDP, dig retries over TCP.
      await api.client.create<Service>('services', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'big', namespace: 'default' },
        spec: { clusterIP: 'None', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
      });
      const addresses = Array.from({ length: 100 }, (_, i) => ({ ip: `10.1.${20 + Math.floor(i / 200)}.${(i % 200) + 1}`, hostname: `web-${i}` }));
      await api.client.create<Endpoints>('endpoints', {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: 'big', namespace: 'default' },
        subsets: [{ addresses, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }],
      });
      await waitFor(async () => (await dig('+noedns', `big.default.svc.${Z}`, 'A')).answer.length === 100, { timeoutMs: 15_000, what: 'big resolvable' });
      const big = await dig('+noedns', `big.default.svc.${Z}`, 'A');
      expect(big.retriedTcp).toBe(true);
      expect((await dig(`web-7.big.default.svc.${Z}`, 'A')).answer.map((r) => r.data)).toEqual(['10.1.20.8']);

      await api.client.delete('services', 'frontend', { namespace: 'default' });
      await waitFor(async () => (await dig(`frontend.default.svc.${Z}`, 'A')).status === 'NXDOMAIN', { timeoutMs: 15_000, what: 'frontend gone' });
    }),
  );

  it(
    'registers both instances in kube-system/kube-dns; a SIGKILLed one leaves when its lease expires, a stopped one at once',
    withLogsOnFailure(get, async () => {
      const svc = await waitFor(() => api.client.get<Service>('services', 'kube-dns', { namespace: 'kube-system' }).catch(() => undefined), { timeoutMs: 15_000, what: 'kube-dns service' });
      expect(svc.spec?.clusterIP).toBe('10.0.0.10');
      expect(svc.spec?.ports?.map((p) => `${p.name}/${p.protocol}/${p.port}`)).toEqual(['dns/UDP/53', 'dns-tcp/TCP/53']);
      await waitFor(async () => (await kubeDnsAddresses()).join(',') === [ipA, ipB].sort().join(','), { timeoutMs: 15_000, what: 'both addresses in kube-dns' });
      const ep = await api.client.get<Endpoints>('endpoints', 'kube-dns', { namespace: 'kube-system' });
      expect(ep.subsets?.[0]?.ports?.map((p) => `${p.name}/${p.protocol}/${p.port}`)).toEqual([`dns/UDP/${port}`, `dns-tcp/TCP/${port}`]);
      expect((await dig(`kube-dns.kube-system.svc.${Z}`, 'A')).answer.map((r) => r.data)).toEqual(['10.0.0.10']);

      await b.kill('SIGKILL');
      await waitFor(async () => (await kubeDnsAddresses()).join(',') === ipA, { timeoutMs: 20_000, what: 'the killed instance to leave kube-dns' });

      await a.stop();
      await waitFor(async () => (await kubeDnsAddresses()).length === 0, { timeoutMs: 10_000, what: 'the stopped instance to withdraw' });
    }),
  );
});

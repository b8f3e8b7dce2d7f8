import { mkdirSync } from 'node:fs';
import type { Lease } from '@pilot/api';
import { run, waitFor } from '@pilot/common';
import { Cluster, etcdPkiOf, loadPki, PILOT_BIN, spawnComponent, startControlPlane, withLogsOnFailure, type ControlPlane, type EtcdPki } from '@pilot/netns';
import { Kubectl } from '../kubectl/helpers.js';
import { etcdLeases, exitLine, OVERLAYD_BIN, PREFIX, putConfig, waitSubnetEnv, type Started } from '../overlayd/helpers.js';

const SVCPROXY_BIN = new URL('../../../packages/svcproxy/dist/bin/svcproxy.js', import.meta.url).pathname;
const DNSD_BIN = new URL('../../../packages/dnsd/dist/bin/dnsd.js', import.meta.url).pathname;

/**
 * A cluster from `pilot certs`' output, as on real hosts: a real etcd that
 * speaks only TLS and lets in only client certificates from its own CA
 * (`--client-cert-auth`); overlayd (flanneld's command line, with its
 * -etcd-cafile/-etcd-certfile/-etcd-keyfile) and the apiserver (kube-apiserver's
 * --etcd-* flags) connected to it with the certificates pilot certs wrote for
 * them; kubectl, the scheduler, the controller-manager, svcproxy and dnsd authenticated
 * with the kubeconfigs it wrote, each as itself.
 */
describe('pilot certs → etcd over TLS, overlayd and the apiserver on it, components as themselves', () => {
  let c: Cluster | undefined;
  let cp: ControlPlane | undefined;
  let dir: string;
  let etcd: EtcdPki;
  const logs = () => c;

  beforeAll(async () => {
    c = await Cluster.create({ hosts: 1 });
    const h1 = c.hosts[0]!;
    const securePort = await c.master.freePort();
    dir = `${c.stateDir}/certs`;
    await run([process.execPath, PILOT_BIN, 'certs', '--dir', dir, '--apiserver-advertise-address', c.master.ip, '--apiserver-bind-port', String(securePort), '--node-name', `${h1.name}=${h1.ip}`, '--days', '2']);
    etcd = etcdPkiOf(dir);
    await c.startEtcd({
      tls: { server: { certFile: etcd.serverCertFile, keyFile: etcd.serverKeyFile, trustedCaFile: etcd.caFile }, client: { caFile: etcd.caFile, ...etcd.healthcheckClient } },
    });
    cp = await startControlPlane(c, { pki: loadPki(dir)!, securePort, etcdClient: { caFile: etcd.caFile, ...etcd.apiserverClient } });
  }, 120_000);

  afterAll(async () => {
    await cp?.close();
    await c?.teardown();
  });

  it('serves etcd on https:// only to certificates from its own CA', withLogsOnFailure(logs, async () => {
    expect(c!.etcd!.endpoint).toMatch(/^https:\/\//);
    expect((await c!.etcd!.etcdctl(['endpoint', 'health'])).exitCode).toBe(0);
    // No client certificate: etcdctl never gets an answer, and curl's TLS connection is closed
    // (an alert "certificate required", or just the close, depending on timing) before any HTTP.
    expect((await c!.etcd!.etcdctl(['--command-timeout=3s', 'get', '/x'], null)).exitCode).not.toBe(0);
    const curl = await c!.master.exec(['curl', '-sS', '--max-time', '10', '--cacert', etcd.caFile, `${c!.etcd!.endpoint}/health`]);
    expect([curl.exitCode === 0, curl.stdout]).toEqual([false, '']);
    expect(curl.stderr).toMatch(/^curl: \((35|55|56)\)/);
    const withCert = await c!.master.exec(['curl', '-sS', '--max-time', '5', '--cacert', etcd.caFile, '--cert', etcd.healthcheckClient.certFile, '--key', etcd.healthcheckClient.keyFile, `${c!.etcd!.endpoint}/health`]);
    expect(withCert.stdout).toContain('"health":"true"');
    // A certificate of the cluster CA is no credential for etcd (it has its own CA).
    const clusterCa = await c!.etcd!.etcdctl(['--command-timeout=3s', 'get', '/x'], { caFile: etcd.caFile, certFile: `${dir}/apiserver-kubelet-client.crt`, keyFile: `${dir}/apiserver-kubelet-client.key` });
    expect(clusterCa.exitCode).not.toBe(0);
  }));

  it('runs the apiserver on it with --etcd-cafile/--etcd-certfile/--etcd-keyfile: its objects are in the TLS etcd', withLogsOnFailure(logs, async () => {
    const keys = await c!.etcd!.etcdctl(['get', '--prefix', '--keys-only', '/registry/namespaces/']);
    expect(keys.exitCode).toBe(0);
    expect(keys.stdout).toContain('/registry/namespaces/default');
    expect(cp!.daemon.log()).not.toMatch(/bootstrap failed/);
  }));

  it("starts overlayd from a flanneld command line with -etcd-cafile/-etcd-certfile/-etcd-keyfile; its subnet lease is in etcd", withLogsOnFailure(logs, async () => {
    const h1 = c!.hosts[0]!;
    await putConfig(c!, { Network: '10.1.0.0/16', Backend: { Type: 'host-gw' } });
    const s: Started = { host: h1, subnetFile: `${h1.stateDir}/subnet.env`, dockerOptsFile: `${h1.stateDir}/docker-opts.env`, daemon: undefined as never };
    s.daemon = h1.spawn('overlayd-tls', [
      process.execPath, OVERLAYD_BIN,
      `-etcd-endpoints=${c!.etcd!.endpoint}`, `-etcd-cafile=${etcd.caFile}`, `-etcd-certfile=${etcd.overlaydClient.certFile}`, `-etcd-keyfile=${etcd.overlaydClient.keyFile}`,
      '-iface=eth0', '-ip-masq', `-subnet-file=${s.subnetFile}`, `-docker-opts-file=${s.dockerOptsFile}`, `-node-name=${h1.name}`,
    ]);
    const env = await waitSubnetEnv(s);
    expect(env.FLANNEL_SUBNET).toMatch(/^10\.1\.\d+\.1\/24$/);
    expect(env.FLANNEL_IPMASQ).toBe('true');
    const leases = await etcdLeases(c!);
    expect([...leases.values()]).toEqual([expect.objectContaining({ PublicIP: h1.ip, BackendType: 'host-gw' })]);
    expect((await c!.etcd!.etcdctl(['get', '--prefix', '--keys-only', `${PREFIX}/subnets/`])).stdout.trim()).toBe(`${PREFIX}/subnets/${env.FLANNEL_SUBNET!.replace(/\.1\/(\d+)$/, '.0-$1')}`);
    await s.daemon.stop();
  }));

  it('ends overlayd with one line when an etcd TLS file is missing or the endpoint is plain http://', withLogsOnFailure(logs, async () => {
    const h1 = c!.hosts[0]!;
    const missing = h1.spawn('overlayd-missing-ca', [process.execPath, OVERLAYD_BIN, `-etcd-endpoints=${c!.etcd!.endpoint}`, `-etcd-cafile=${dir}/etcd/nope.crt`, '-iface=eth0']);
    expect(await exitLine(missing)).toEqual({ code: 2, line: `overlayd: --etcd-cafile: ${dir}/etcd/nope.crt cannot be read: ENOENT` });
    const plain = h1.spawn('overlayd-plain', [process.execPath, OVERLAYD_BIN, `-etcd-endpoints=${c!.etcd!.endpoint.replace('https:', 'http:')}`, `-etcd-cafile=${etcd.caFile}`, '-iface=eth0']);
    const line = await exitLine(plain);
    expect(line.code).toBe(2);
    expect(line.line).toMatch(/^overlayd: --etcd-endpoints: "http:\/\/[^"]+" is not https:\/\//);
  }));

  it("lets kubectl in with pilot certs' admin kubeconfig, and a node's kubeconfig only where the Node authorizer and RBAC say", withLogsOnFailure(logs, async () => {
    const cache = `${c!.stateDir}/kubectl-certs`;
    mkdirSync(cache, { recursive: true });
    const admin = new Kubectl(c!.master, `${dir}/admin.kubeconfig`, `${cache}/admin`, 'default');
    expect(await admin.ok(['get', 'namespaces', '-o', 'name'])).toContain('namespace/kube-system');
    const node = new Kubectl(c!.master, `${dir}/kubelet-${c!.hosts[0]!.name}.kubeconfig`, `${cache}/node`, 'kube-system');
    expect((await node.run(['auth', 'can-i', 'list', 'nodes'])).stdout.trim()).toBe('yes');
    expect((await node.run(['auth', 'can-i', 'list', 'secrets'])).stdout.trim()).toMatch(/^no\b/);
    const refused = await node.fails(['get', 'secrets']);
    expect(refused).toContain(`User "system:node:${c!.hosts[0]!.name}" cannot list resource "secrets"`);
  }));

  it('runs the scheduler and the controller-manager with their own kubeconfigs: each takes its leader lease', withLogsOnFailure(logs, async () => {
    for (const component of ['scheduler', 'controller-manager'] as const) {
      const d = await spawnComponent(c!, cp!, component, ['--kubeconfig', `${dir}/${component}.kubeconfig`]);
      const lease = await waitFor(
        async () => {
          if (!d.running) throw new Error(`pilot ${component} exited ${JSON.stringify(d.exit)}: ${d.log().trimEnd().split('\n').slice(-3).join(' | ')}`);
          const l = await cp!.client.get<Lease>('leases', `kube-${component}`, { namespace: 'kube-system' }).catch(() => undefined);
          return l?.spec?.holderIdentity ? l : undefined;
        },
        { timeoutMs: 40_000, what: `pilot ${component} to hold kube-system/kube-${component}` },
      );
      expect(lease.spec!.holderIdentity).toMatch(/_/);
      expect(d.log()).not.toMatch(/forbidden|Unauthorized/i);
      await d.stop();
    }
  }));

  it("runs svcproxy and dnsd on a host with the kubeconfigs pilot certs wrote for them (system:kube-proxy, kube-system/kube-dns)", withLogsOnFailure(logs, async () => {
    const h1 = c!.hosts[0]!;
    const proxy = h1.spawn('svcproxy-certs', [process.execPath, SVCPROXY_BIN, '--kubeconfig', `${dir}/svcproxy.kubeconfig`, '--hostname-override', h1.name, '--cluster-cidr', '10.1.0.0/16']);
    await waitFor(
      async () => {
        if (!proxy.running) throw new Error(`svcproxy exited ${JSON.stringify(proxy.exit)}`);
        return (await h1.execOk(['iptables-save', '-t', 'nat'])).stdout.includes('default/kubernetes:https cluster IP');
      },
      { timeoutMs: 30_000, what: "svcproxy's rule for default/kubernetes" },
    );
    const port = await h1.freePort();
    const dns = h1.spawn('dnsd-certs', [process.execPath, DNSD_BIN, '--kubeconfig', `${dir}/dnsd.kubeconfig`, '--listen', `${h1.ip}:${port}`, '--advertise-address', h1.ip, '--upstream', '127.0.0.1', '--healthz-port', String(await h1.freePort())]);
    const answer = await waitFor(
      async () => {
        if (!dns.running) throw new Error(`dnsd exited ${JSON.stringify(dns.exit)}`);
        const r = await h1.exec(['dig', `@${h1.ip}`, '-p', String(port), '+short', '+tries=1', '+time=2', 'kubernetes.default.svc.cluster.local'], { timeoutMs: 10_000 });
        // Until dnsd listens, dig prints its errors (";; ...") on stdout.
        return r.stdout.split('\n').find((l) => /^\d+\.\d+\.\d+\.\d+$/.test(l.trim()))?.trim();
      },
      { timeoutMs: 30_000, what: 'dnsd to answer kubernetes.default.svc.cluster.local' },
    );
    expect(answer).toBe('10.0.0.1');
    for (const d of [proxy, dns]) expect(d.log()).not.toMatch(/forbidden|Unauthorized/i);
    await dns.stop();
    await proxy.stop();
  }));
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FatalError, FlagError } from '@pilot/common';
import { certsFiles, writeCerts } from '../../src/certs/certs.js';
import { resolveCertsConfig } from '../../src/certs/flags.js';
import { loadPki } from '../../src/pki/pki.js';

const openssl = (args: string[]) => execFileSync('openssl', args, { encoding: 'utf8' });

describe('pilot certs flags', () => {
  it('puts the advertise address, the kubernetes service IP and the extra SANs in the apiserver certificate; kubeconfigs use the advertise address and bind port', () => {
    const c = resolveCertsConfig({ apiserverAdvertiseAddress: '10.9.0.2', apiserverCertExtraSans: 'api.example.com, 10.9.9.9', nodeName: ['h1=10.9.0.11', 'h2'] }, undefined);
    expect(c).toMatchObject({
      dir: '/etc/pilot',
      force: false,
      server: 'https://10.9.0.2:6443',
      apiserverIps: ['10.9.0.2', '10.0.0.1', '10.9.9.9'],
      apiserverDnsNames: ['api.example.com'],
      etcdNames: ['10.9.0.2'],
      nodes: [{ name: 'h1', ips: ['10.9.0.11'] }, { name: 'h2', ips: [] }],
      days: 365,
    });
  });

  it('points kubeconfigs at --control-plane-endpoint (which joins the certificate) and takes the default address when none is given', () => {
    expect(resolveCertsConfig({ controlPlaneEndpoint: 'lb.example:443' }, '192.0.2.5')).toMatchObject({ server: 'https://lb.example:443', apiserverIps: ['192.0.2.5', '10.0.0.1'], apiserverDnsNames: ['lb.example'] });
    expect(resolveCertsConfig({ apiserverBindPort: '7443', serviceCidr: '10.96.0.0/12' }, '192.0.2.5')).toMatchObject({ server: 'https://192.0.2.5:7443', apiserverIps: ['192.0.2.5', '10.96.0.1'] });
  });

  it.each([
    [{}, '--apiserver-advertise-address: missing, and no default route to take it from'],
    [{ apiserverAdvertiseAddress: '10.9.0' }, '--apiserver-advertise-address: "10.9.0" is not an IP address'],
    [{ apiserverAdvertiseAddress: '10.9.0.2', nodeName: ['H1'] }, `--node-name: "H1" is not a node name (lowercase letters, digits, '-' and '.')`],
    [{ apiserverAdvertiseAddress: '10.9.0.2', nodeName: ['h1=10.9.0'] }, '--node-name: h1: "10.9.0" is not an IP address'],
    [{ apiserverAdvertiseAddress: '10.9.0.2', nodeName: ['h1', 'h1=10.0.0.1'] }, '--node-name: h1 is given twice'],
    [{ apiserverAdvertiseAddress: '10.9.0.2', apiserverCertExtraSans: 'a b' }, '--apiserver-cert-extra-sans: "a b" is neither an IP address nor a DNS name'],
    [{ apiserverAdvertiseAddress: '10.9.0.2', controlPlaneEndpoint: 'lb:x' }, '--control-plane-endpoint: "lb:x" is not host[:port]'],
  ])('refuses %j in one line', (raw, message) => {
    expect(() => resolveCertsConfig(raw, undefined)).toThrow(FlagError);
    expect(() => resolveCertsConfig(raw, undefined)).toThrow(message);
  });
});

describe('pilot certs', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'pilot-certs-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const config = (force = false) => ({ ...resolveCertsConfig({ dir, apiserverAdvertiseAddress: '10.9.0.2', nodeName: ['h1=10.9.0.11'], days: '2' }, undefined), force });

  it('writes exactly its files, keys, tokens and kubeconfigs 0600, and certificates that chain to their CAs with the SANs asked for', async () => {
    const files = await writeCerts(config());
    const listed = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listed(join(d, e.name)).map((f) => `${e.name}/${f}`) : [e.name]));
    expect(listed(dir).sort()).toEqual(files.map((f) => f.path).sort());
    for (const f of files) expect([f.path, statSync(join(dir, f.path)).mode & 0o777]).toEqual([f.path, f.secret ? 0o600 : 0o644]);
    expect(files.filter((f) => f.secret).map((f) => f.path)).toEqual(expect.arrayContaining(['ca.key', 'tokens.csv', 'etcd/server.key', 'admin.kubeconfig', 'kubelet-h1.kubeconfig']));

    expect(openssl(['x509', '-in', join(dir, 'apiserver.crt'), '-noout', '-ext', 'subjectAltName'])).toMatch(/IP Address:127\.0\.0\.1, IP Address:10\.9\.0\.2, IP Address:10\.0\.0\.1, DNS:kubernetes,/);
    expect(openssl(['x509', '-in', join(dir, 'kubelet-h1.crt'), '-noout', '-ext', 'subjectAltName'])).toMatch(/IP Address:10\.9\.0\.11, DNS:h1/);
    expect(openssl(['x509', '-in', join(dir, 'etcd/server.crt'), '-noout', '-ext', 'subjectAltName'])).toMatch(/IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1, DNS:localhost, IP Address:10\.9\.0\.2/);
    for (const [ca, cert] of [['ca', 'apiserver'], ['ca', 'kubelet-h1'], ['kubelet-client-ca', 'apiserver-kubelet-client'], ['etcd/ca', 'etcd/server'], ['etcd/ca', 'apiserver-etcd-client'], ['etcd/ca', 'overlayd-etcd-client'], ['etcd/ca', 'etcd/healthcheck-client']])
      expect(openssl(['verify', '-CAfile', join(dir, `${ca}.crt`), join(dir, `${cert}.crt`)])).toContain(': OK');
    // The etcd client certificates are not signed by the cluster CA (and the other way round).
    expect(() => execFileSync('openssl', ['verify', '-CAfile', join(dir, 'ca.crt'), join(dir, 'apiserver-etcd-client.crt')], { stdio: 'pipe' })).toThrow();

    // Each kubeconfig carries its own identity's token and the CA; the token file says who that is.
    const tokens = readFileSync(join(dir, 'tokens.csv'), 'utf8');
    const kc = JSON.parse(readFileSync(join(dir, 'kubelet-h1.kubeconfig'), 'utf8'));
    expect(kc.clusters[0].cluster.server).toBe('https://10.9.0.2:6443');
    expect(Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toBe(readFileSync(join(dir, 'ca.crt'), 'utf8'));
    expect(tokens).toContain(`${kc.users[0].user.token},system:node:h1,system:node:h1-uid,"system:nodes"`);
    const sched = JSON.parse(readFileSync(join(dir, 'scheduler.kubeconfig'), 'utf8'));
    expect(tokens).toContain(`${sched.users[0].user.token},system:kube-scheduler,`);
    // The PKI is the one pilot up and the harness load.
    expect(loadPki(dir)?.tokens.get('node:h1')).toBe(kc.users[0].user.token);
  }, 30_000);

  it('refuses to overwrite any file unless --force, and --force makes every file again', async () => {
    writeFileSync(join(dir, 'ca.crt'), 'mine\n');
    await expect(writeCerts(config())).rejects.toThrow(new FatalError(`${join(dir, 'ca.crt')} exists: pilot certs never overwrites; --force makes them all again`));
    expect(readFileSync(join(dir, 'ca.crt'), 'utf8')).toBe('mine\n');
    expect(readdirSync(dir)).toEqual(['ca.crt']);
    await writeCerts(config(true));
    const before = readFileSync(join(dir, 'ca.crt'), 'utf8');
    expect(before).toMatch(/^-----BEGIN CERTIFICATE-----/);
    await expect(writeCerts(config())).rejects.toThrow(`(and ${certsFiles(config()).length - 1} more of the ${certsFiles(config()).length} it writes)`);
    await writeCerts(config(true));
    expect(readFileSync(join(dir, 'ca.crt'), 'utf8')).not.toBe(before);
    expect(readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
  }, 30_000);
});

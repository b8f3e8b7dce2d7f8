import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeconfigError, loadKubeconfig, renderKubeconfig, resolveKubeconfig } from '../src/kubeconfig.js';

const yaml = `
apiVersion: v1
kind: Config
current-context: remote
clusters:
- name: local
  cluster:
    server: http://127.0.0.1:8080
- name: secure
  cluster:
    server: https://10.9.0.2:6443
    certificate-authority: pki/ca.crt
users:
- name: admin
  user:
    tokenFile: token
- name: inline
  user:
    token: abc123
contexts:
- name: local
  context: {cluster: local, user: inline}
- name: remote
  context:
    cluster: secure
    user: admin
    namespace: kube-system
`;

describe('kubeconfig loading', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kubeconfig-test-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves the current context: server, CA and token files relative to the kubeconfig, namespace', () => {
    const reads: string[] = [];
    const k = resolveKubeconfig(yaml, {
      file: '/etc/pilot/kubeconfig',
      readFile: (p) => {
        reads.push(p);
        return Buffer.from(p.endsWith('token') ? 's3cret\n' : 'PEM');
      },
    });
    expect(k).toMatchObject({ server: 'https://10.9.0.2:6443', token: 's3cret', namespace: 'kube-system', context: 'remote' });
    expect(k.ca?.toString()).toBe('PEM');
    expect(reads).toEqual(['/etc/pilot/pki/ca.crt', '/etc/pilot/token']);
  });

  it('selects another context by name and reads inline data', () => {
    const k = resolveKubeconfig(yaml, { context: 'local' });
    expect(k).toEqual({ server: 'http://127.0.0.1:8080', token: 'abc123', context: 'local' });
    const inline = resolveKubeconfig(
      renderKubeconfig({ server: 'https://h:6443', ca: 'CA-PEM', token: 't', insecureSkipTLSVerify: true }),
    );
    expect(inline.ca?.toString()).toBe('CA-PEM');
    expect(inline).toMatchObject({ server: 'https://h:6443', token: 't', insecureSkipTLSVerify: true });
  });

  it('loads from a file', () => {
    const f = join(dir, 'kc');
    writeFileSync(join(dir, 'token'), 'from-file\n');
    writeFileSync(f, yaml.replace('certificate-authority: pki/ca.crt', 'insecure-skip-tls-verify: true'));
    expect(loadKubeconfig(f)).toMatchObject({ token: 'from-file', insecureSkipTLSVerify: true });
  });

  it.each([
    ['missing context', () => resolveKubeconfig(yaml, { context: 'nope', file: 'kc' }), /kc: context "nope" not found/],
    ['no current-context', () => resolveKubeconfig('clusters: []', { file: 'kc' }), /kc: no current-context set/],
    ['bad yaml', () => resolveKubeconfig('a: [', { file: 'kc' }), /kc: not valid YAML/],
    ['unreadable CA', () => resolveKubeconfig(yaml, { file: '/nonexistent/kc' }), /cannot read certificate-authority \/nonexistent\/pki\/ca.crt/],
    ['missing file', () => loadKubeconfig('/nonexistent/kubeconfig'), /cannot read kubeconfig \/nonexistent\/kubeconfig: ENOENT/],
  ])('fails with a one-line error on %s', (_what, fn, msg) => {
    expect(fn).toThrow(KubeconfigError);
    expect(fn).toThrow(msg);
  });
});

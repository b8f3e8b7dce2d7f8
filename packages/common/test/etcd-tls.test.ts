import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdCredentials, etcdTlsFlags } from '../src/etcd-tls.js';
import { FatalError } from '../src/fatal.js';
import { FlagError } from '../src/flags.js';

describe('etcd client TLS flags (flanneld and kube-apiserver names)', () => {
  let dir: string;
  let ca: string, cert: string, key: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'etcd-tls-'));
    [ca, cert, key] = ['ca.crt', 'client.crt', 'client.key'].map((f) => {
      writeFileSync(join(dir, f), `${f} pem\n`);
      return join(dir, f);
    }) as [string, string, string];
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const https = ['https://10.0.0.2:2379'];

  it('is off when no flag (or only empty ones, as flanneld defaults them) is given', () => {
    expect(etcdTlsFlags({}, ['http://127.0.0.1:2379'], 'etcd-endpoints')).toBeUndefined();
    expect(etcdTlsFlags({ etcdCafile: '', etcdCertfile: '', etcdKeyfile: '' }, ['http://127.0.0.1:2379'], 'etcd-endpoints')).toBeUndefined();
  });

  it('takes a CA alone (server TLS) or a CA with a client certificate and key', () => {
    expect(etcdTlsFlags({ etcdCafile: ca }, https, 'etcd-servers')).toEqual({ caFile: ca });
    expect(etcdTlsFlags({ etcdCafile: ca, etcdCertfile: cert, etcdKeyfile: key }, https, 'etcd-servers')).toEqual({ caFile: ca, certFile: cert, keyFile: key });
  });

  it.each([
    [{ etcdCertfile: 'CERT' }, ['https://e:2379'], '--etcd-keyfile: missing: --etcd-certfile and --etcd-keyfile are given together'],
    [{ etcdKeyfile: 'KEY' }, ['https://e:2379'], '--etcd-certfile: missing: --etcd-certfile and --etcd-keyfile are given together'],
    [{ etcdCafile: 'CA' }, ['https://e:2379', 'http://f:2379'], '--etcd-servers: "http://f:2379" is not https://: with --etcd-cafile/--etcd-certfile every etcd endpoint is a TLS one'],
    [{ etcdCafile: '/nonexistent/ca.crt' }, ['https://e:2379'], '--etcd-cafile: /nonexistent/ca.crt cannot be read: ENOENT'],
  ])('refuses %j with %j in one line naming the flag', (raw, endpoints, message) => {
    const resolved = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v === 'CA' ? ca : v === 'CERT' ? cert : v === 'KEY' ? key : v]));
    expect(() => etcdTlsFlags(resolved, endpoints, 'etcd-servers')).toThrow(FlagError);
    expect(() => etcdTlsFlags(resolved, endpoints, 'etcd-servers')).toThrow(message);
  });

  it("reads the files into etcd3's credentials; a file gone since the flags were read is one line", () => {
    const creds = etcdCredentials({ caFile: ca, certFile: cert, keyFile: key });
    expect([creds.rootCertificate.toString(), creds.certChain?.toString(), creds.privateKey?.toString()]).toEqual(['ca.crt pem\n', 'client.crt pem\n', 'client.key pem\n']);
    expect(etcdCredentials({ caFile: ca })).toEqual({ rootCertificate: Buffer.from('ca.crt pem\n') });
    expect(() => etcdCredentials({ caFile: join(dir, 'gone.crt') })).toThrow(FatalError);
    expect(() => etcdCredentials({ caFile: join(dir, 'gone.crt') })).toThrow(`--etcd-cafile: ${join(dir, 'gone.crt')} cannot be read: ENOENT`);
  });
});

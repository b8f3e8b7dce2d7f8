import { FlagError } from '@pilot/common';
import { resolveConfig } from '../../src/apiserver/flags.js';

describe('apiserver flags', () => {
  it('defaults to the seed values: loopback :8080, 10.0.0.0/24, 30000-32767, /registry, compaction every 5m', () => {
    const cfg = resolveConfig({});
    expect(cfg).toMatchObject({ insecureBindAddress: '127.0.0.1', insecurePort: 8080, securePort: 0, etcdPrefix: '/registry', etcdCompactionIntervalMs: 300_000 });
    expect(cfg.serviceClusterIPRange.toString()).toBe('10.0.0.0/24');
    expect(cfg.serviceNodePortRange).toEqual({ min: 30000, max: 32767 });
  });

  it('enables the secure port with cert, key and token file; advertises the bind address', () => {
    const cfg = resolveConfig({ tlsCertFile: 'c', tlsPrivateKeyFile: 'k', tokenAuthFile: 't', bindAddress: '172.30.0.2' });
    expect(cfg.securePort).toBe(6443);
    expect(cfg.advertiseAddress).toBe('172.30.0.2');
  });

  it("takes kube-apiserver's --etcd-cafile, --etcd-certfile, --etcd-keyfile with https:// etcd servers only", () => {
    const pem = new URL('../../package.json', import.meta.url).pathname; // any readable file
    expect(resolveConfig({ etcdServers: 'https://10.0.0.2:2379', etcdCafile: pem, etcdCertfile: pem, etcdKeyfile: pem }).etcdTls).toEqual({ caFile: pem, certFile: pem, keyFile: pem });
    expect(resolveConfig({}).etcdTls).toBeUndefined();
    expect(() => resolveConfig({ etcdCafile: pem })).toThrow('--etcd-servers: "http://127.0.0.1:2379" is not https://');
    expect(() => resolveConfig({ etcdServers: 'https://e:2379', etcdCertfile: pem })).toThrow('--etcd-keyfile: missing');
    expect(() => resolveConfig({ etcdServers: 'https://e:2379', etcdCafile: '/nonexistent/ca.crt' })).toThrow('--etcd-cafile: /nonexistent/ca.crt cannot be read: ENOENT');
  });

  it('refuses bad flags with one line naming the flag', () => {
    const bad: [Parameters<typeof resolveConfig>[0], string][] = [
      [{ insecureBindAddress: '0.0.0.0' }, '--insecure-bind-address'],
      [{ serviceClusterIpRange: '10.0.0.1/24' }, '--service-cluster-ip-range'],
      [{ serviceNodePortRange: '1-2-3' }, '--service-node-port-range'],
      [{ securePort: '6443' }, '--secure-port'],
      [{ tlsCertFile: 'c', tlsPrivateKeyFile: 'k' }, '--token-auth-file'],
      [{ etcdServers: 'localhost:2379' }, '--etcd-servers'],
      [{ etcdCompactionInterval: '5 minutes' }, '--etcd-compaction-interval'],
      [{ eventTtl: 'an hour' }, '--event-ttl'],
      [{ eventTtl: '500ms' }, '--event-ttl'],
      [{ eventTtl: '-1h' }, '--event-ttl'],
      [{ insecurePort: 'http' }, '--insecure-port'],
      [{ insecurePort: '0' }, '--insecure-port'],
      [{ watchCacheSize: '0' }, '--watch-cache-size'],
    ];
    for (const [flags, name] of bad) {
      let err: unknown;
      try {
        resolveConfig(flags);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FlagError);
      expect((err as Error).message.startsWith(`${name}: `)).toBe(true);
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('keeps events an hour by default; --event-ttl 0 keeps them forever', () => {
    expect(resolveConfig({}).eventTtlMs).toBe(3_600_000);
    expect(resolveConfig({ eventTtl: '3s' }).eventTtlMs).toBe(3_000);
    expect(resolveConfig({ eventTtl: '0' }).eventTtlMs).toBe(0);
  });

  it("reads durations with common's parser; a bare number is still seconds, with a deprecation notice", () => {
    const notices: string[] = [];
    const warn = (l: string) => void notices.push(l);
    expect(resolveConfig({ etcdCompactionInterval: '1h30m' }, warn).etcdCompactionIntervalMs).toBe(5_400_000);
    expect(resolveConfig({ etcdCompactionInterval: '0' }, warn).etcdCompactionIntervalMs).toBe(0);
    expect(notices).toEqual([]);
    expect(resolveConfig({ etcdCompactionInterval: '300' }, warn).etcdCompactionIntervalMs).toBe(300_000);
    expect(notices).toEqual(['--etcd-compaction-interval: a number without a unit is deprecated: "300" is read as 300 seconds; write 5m']);
  });
});

import { FatalError } from '@pilot/common';
import { parseDuration, resolveConfig } from '../../src/apiserver/flags.js';

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
    ];
    for (const [flags, name] of bad) {
      let err: unknown;
      try {
        resolveConfig(flags);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FatalError);
      expect((err as Error).message).toContain(name);
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('keeps events an hour by default; --event-ttl 0 keeps them forever', () => {
    expect(resolveConfig({}).eventTtlMs).toBe(3_600_000);
    expect(resolveConfig({ eventTtl: '3s' }).eventTtlMs).toBe(3_000);
    expect(resolveConfig({ eventTtl: '0' }).eventTtlMs).toBe(0);
  });

  it('parses durations', () => {
    expect(parseDuration('1h30m', 'x')).toBe(5_400_000);
    expect(parseDuration('250ms', 'x')).toBe(250);
    expect(parseDuration('0', 'x')).toBe(0);
  });
});

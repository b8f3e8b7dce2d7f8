import { backendFor, detectBackend, parseSave, renderRestore, restore, RestoreError, saveText, type IptablesMode } from '@pilot/common';
import { Cluster, type Host } from '@pilot/netns';

// common's iptables edge against the real kernel, inside host namespaces so
// the machine's own rules are never touched.
describe('iptables backend detection and atomic restore (real kernel)', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await Cluster.create({ hosts: 3 });
  });
  afterAll(async () => {
    await c?.teardown();
  });

  it('picks the backend that holds the host’s rules', async () => {
    const [legacyHost, nftHost] = c.hosts as [Host, Host];
    await legacyHost.execOk(['iptables-legacy', '-A', 'FORWARD', '-s', '10.9.0.0/16', '-j', 'ACCEPT']);
    await nftHost.execOk(['iptables-nft', '-A', 'FORWARD', '-s', '10.9.0.0/16', '-j', 'ACCEPT']);
    expect((await detectBackend(legacyHost.runner)).mode).toBe('legacy');
    expect((await detectBackend(nftHost.runner)).mode).toBe('nft');
  });

  it.each<IptablesMode>(['nft', 'legacy'])('applies a ruleset whole or not at all (%s)', async (mode) => {
    const host = c.hosts[2]!;
    const backend = backendFor(mode);
    const good = renderRestore([
      { name: 'nat', chains: [{ name: 'PILOT-TEST' }], lines: ['-A PILOT-TEST -d 10.0.0.1/32 -p tcp --dport 80 -j RETURN'] },
    ]);
    await restore(backend, good, host.runner);
    const before = await saveText(backend, 'nat', host.runner);

    // A new chain, a change to the existing one, then one line the kernel refuses.
    const bad = renderRestore([
      {
        name: 'nat',
        chains: [{ name: 'PILOT-TEST' }, { name: 'PILOT-NEW' }],
        lines: ['-A PILOT-NEW -j RETURN', '-A PILOT-TEST -j PILOT-NEW', '-A PILOT-TEST -p tcp --dport 99999 -j RETURN'],
      },
    ]);
    const err = await restore(backend, bad, host.runner).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RestoreError);
    expect((err as Error).message).toMatch(/line/);

    const after = await saveText(backend, 'nat', host.runner);
    const strip = (t: string) => t.split('\n').filter((l) => !l.startsWith('#')).join('\n');
    expect(strip(after)).toBe(strip(before));
    const nat = parseSave(after).get('nat')!;
    expect(nat.chains.has('PILOT-NEW')).toBe(false);
    expect(nat.rules.filter((r) => r.chain === 'PILOT-TEST')).toEqual([
      { chain: 'PILOT-TEST', args: ['-d', '10.0.0.1/32', '-p', 'tcp', '-m', 'tcp', '--dport', '80', '-j', 'RETURN'] },
    ]);
  });
});

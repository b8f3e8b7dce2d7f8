import { checkKernelPrerequisites, describeMissing } from '../src/prereq.js';

const sysctls = (values: Record<string, string>) => async (path: string) => {
  const v = values[path];
  if (v === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return `${v}\n`;
};

describe('kernel prerequisites', () => {
  it('reports nothing when every sysctl is 1', async () => {
    const read = sysctls({ '/proc/sys/net/ipv4/ip_forward': '1', '/proc/sys/net/bridge/bridge-nf-call-iptables': '1' });
    expect(await checkKernelPrerequisites(['ip_forward', 'bridge-nf-call-iptables'], read)).toEqual([]);
  });

  it('names each missing setting and how to fix it, in one line', async () => {
    const read = sysctls({ '/proc/sys/net/ipv4/ip_forward': '0' });
    const missing = await checkKernelPrerequisites(['ip_forward', 'bridge-nf-call-iptables'], read);
    expect(missing.map((m) => m.name)).toEqual(['ip_forward', 'bridge-nf-call-iptables']);
    const line = describeMissing(missing);
    expect(line).not.toContain('\n');
    expect(line).toContain('net.ipv4.ip_forward=0, want 1');
    expect(line).toContain('br_netfilter is not loaded');
    expect(line).toContain('modprobe br_netfilter');
  });
});

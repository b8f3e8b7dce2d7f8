import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { Service } from '@pilot/api';
import { parseSave, run, waitFor } from '@pilot/common';
import {
  cgroupParentOf,
  cgroupsOf,
  Cluster,
  ensureImages,
  mountsUnder,
  PILOT_BIN,
  unreachableNameservers,
  type Host,
} from '@pilot/netns';
import { Kubectl } from '../kubectl/helpers.js';

/**
 * `pilot up` as a user runs it, on one harness host (a network namespace
 * with a default route, as a machine has): `pilot up` → the node Ready and
 * the cluster DNS registered → `kubectl run -i --rm … nslookup
 * kubernetes.default.svc.cluster.local` answers from a busybox pod → a
 * Service is reached from the host → a killed component comes back → `pilot
 * down` leaves the host as it was (links, routes, rules, iptables of both
 * backends, namespaces, processes, mounts, cgroups, sysctls) → `pilot up`
 * again brings back the same objects → `pilot down --purge` leaves the state
 * dir gone too. Images come from the harness's image store, served by the
 * registry `pilot up` starts (--image-store).
 */

let c: Cluster | undefined;
let h: Host;
let stateDir: string;
let k: Kubectl;
let before: Snapshot;

function pilotLogs(): string {
  const dir = `${stateDir}/logs`;
  if (!existsSync(dir)) return '(no pilot logs)';
  return readdirSync(dir)
    .map((f) => `==== ${dir}/${f}\n${readFileSync(`${dir}/${f}`, 'utf8').trimEnd().split('\n').slice(-25).join('\n')}`)
    .join('\n');
}

const t = (name: string, fn: () => Promise<void>, timeoutMs = 120_000) =>
  it(
    name,
    async () => {
      try {
        await fn();
      } catch (err) {
        process.stderr.write(`\n---- pilot up logs (${stateDir}) ----\n${pilotLogs()}\n`);
        throw err;
      }
    },
    timeoutMs,
  );

const pilot = (args: readonly string[], timeoutMs = 240_000) => h.exec([process.execPath, PILOT_BIN, ...args], { timeoutMs });

/** `pilot <args>` in the host; a non-zero exit is an error with everything it printed. */
async function pilotOk(args: readonly string[]): Promise<string> {
  const r = await pilot(args);
  if (r.exitCode !== 0) throw new Error(`pilot ${args.join(' ')} exited ${r.exitCode}: ${r.stderr.trim()} ${r.stdout.trim()}`);
  return r.stdout;
}

/** iptables-save without counters, tables holding nothing (no rule, no own chain, every policy ACCEPT) left out: a table the kernel keeps once made. */
function normalIptables(text: string): string {
  const out: string[] = [];
  for (const [name, table] of parseSave(text)) {
    const chains = [...table.chains.values()];
    if (!table.rules.length && chains.every((ch) => ch.policy === 'ACCEPT')) continue;
    out.push(`*${name}`, ...chains.map((ch) => `:${ch.name} ${ch.policy ?? '-'}`), ...table.rules.map((r) => `-A ${r.chain} ${r.args.join(' ')}`));
  }
  return out.join('\n');
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = `${d}/${e}`;
      out.push(p);
      if (statSync(p).isDirectory() && !mountsUnder(p).includes(p)) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

interface Snapshot {
  links: string;
  routes: string;
  rules: string;
  iptables: string;
  netns: string;
  processes: string;
  mounts: string[];
  cgroups: string[];
  sysctls: string;
  files: string[];
}

async function snapshot(withFiles: boolean): Promise<Snapshot> {
  const out = async (argv: string[]) => (await h.execOk(argv)).stdout;
  const iptables = async (save: string) => normalIptables((await h.exec([save])).stdout);
  // Only this run's namespaces: other runs come and go on the same machine.
  const netns = (await out(['ip', 'netns', 'list'])).split('\n').map((l) => l.split(' ')[0]!).filter((n) => n && (!/^plt\d+-/.test(n) || n.startsWith(`${c!.prefix}-`)));
  // From the root namespace: run inside the host, `ip netns pids` would list itself.
  const pids = (await run(['ip', 'netns', 'pids', h.ns])).stdout.trim().split('\n').filter(Boolean);
  const cmdline = (pid: string) => {
    try {
      return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')}`;
    } catch {
      return ''; // exited meanwhile
    }
  };
  const processes = pids.map(cmdline).filter(Boolean).sort().join('\n');
  return {
    links: await out(['ip', '-d', 'link']),
    routes: await out(['ip', 'route']),
    rules: await out(['ip', 'rule']),
    iptables: `${await iptables('iptables-nft-save')}\n--- legacy\n${await iptables('iptables-legacy-save')}`,
    netns: netns.sort().join('\n'),
    processes,
    mounts: mountsUnder(stateDir),
    cgroups: cgroupsOf({ name: cgroupParentOf(c!.prefix, h.name) }),
    sysctls: await out(['sysctl', '-n', 'net.ipv4.ip_forward', 'net.bridge.bridge-nf-call-iptables']),
    files: withFiles ? filesUnder(stateDir) : [],
  };
}

beforeAll(async () => {
  c = await Cluster.create({ hosts: 1 });
  h = c.hosts[0]!;
  stateDir = `${h.stateDir}/pilot`;
  // Part of making the host, as its default route is (see the harness's dockerd.ts).
  await unreachableNameservers(h);
  await ensureImages(c.master);
  k = new Kubectl(h, `${stateDir}/admin.kubeconfig`, `${c.stateDir}/kube-cache`, 'default');
  before = await snapshot(true);
}, 600_000);

afterAll(async () => {
  // A failed test may leave the cluster up: down first, the harness removes the rest.
  if (c && existsSync(`${stateDir}/config.json`)) await pilot(['down', '--state-dir', stateDir, '--purge']).catch(() => undefined);
  await c?.teardown();
});

describe('pilot up on one machine (a harness host)', () => {
  let store: string;

  t('pilot up returns once the node is Ready and DNS answers inside a pod, and prints how to use kubectl', async () => {
    store = (await ensureImages(c!.master)).dir;
    const out = await pilotOk(['up', '--state-dir', stateDir, '--node-name', h.name, '--image-store', store, '--cgroup-parent', cgroupParentOf(c!.prefix, h.name)]);
    process.stdout.write(out);
    for (const step of ['certificates', 'etcd', 'apiserver', 'scheduler', 'controller-manager', 'overlayd', 'registry', 'dockerd', 'kubelet', 'svcproxy', 'dnsd', `node ${h.name} Ready`, 'cluster DNS', 'DNS in a pod']) {
      expect(out).toMatch(new RegExp(`^ ✓ ${step.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s`, 'm'));
    }
    expect(out).toContain(`export KUBECONFIG=${stateDir}/admin.kubeconfig\n`);
    const nodes = await k.ok(['get', 'nodes', '-o', 'jsonpath={.items[*].metadata.name} {.items[0].status.addresses[?(@.type=="InternalIP")].address}']);
    expect(nodes).toBe(`${h.name} ${h.ip}`);
  }, 240_000);

  t('pilot status lists every component healthy with its PID', async () => {
    const rows = (await pilotOk(['status', '--state-dir', stateDir])).trim().split('\n').slice(1).map((l) => l.split(/\s{3,}/));
    expect(rows.map((row) => row[0])).toEqual(['supervisor', 'etcd', 'apiserver', 'scheduler', 'controller-manager', 'overlayd', 'registry', 'dockerd', 'containerd', 'kubelet', 'svcproxy', 'dnsd']);
    for (const row of rows) expect([row[0], row[2]]).toEqual([row[0], 'healthy']);
  });

  t('kubectl run -i --rm --restart=Never --image=busybox t -- nslookup kubernetes.default.svc.cluster.local answers', async () => {
    const argv = ['run', '-i', '--rm', '--restart=Never', '--image=busybox', 't', '--', 'nslookup', 'kubernetes.default.svc.cluster.local'];
    // A second try only when kubectl hangs: an attach that races the container's exit (nslookup ends in
    // milliseconds) can stay open (the seed e2e's same step shows it too); the kubelet's attach is to fix.
    let r = await k.run(argv, { timeoutMs: 50_000 }).catch((err: Error) => ({ exitCode: -1, stdout: '', stderr: err.message }));
    if (r.exitCode === -1) {
      process.stderr.write(`kubectl run -i hung (${r.stderr.slice(0, 200)}); once more\n`);
      await k.ok(['delete', 'pod', 't', '--ignore-not-found', '--wait=true']);
      r = await k.run(argv, { timeoutMs: 50_000 });
    }
    expect(`${r.exitCode} ${r.stderr.trim()}`).toBe('0 ');
    expect(r.stdout).toMatch(/Address: 10\.0\.0\.1\b/);
  }, 150_000);

  t('a Service is reached from the host, by its cluster IP and by name through the cluster DNS', async () => {
    await k.ok(['run', 'web', '--image=guest/mynode', '--port=8888']);
    await k.ok(['expose', 'pod', 'web', '--port=80', '--target-port=8888']);
    const ip = (await k.ok(['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    const body = await waitFor(async () => {
      const r = await h.exec(['curl', '-sf', '--max-time', '3', `http://${ip}/`]);
      return r.exitCode === 0 ? r.stdout : undefined;
    }, { timeoutMs: 90_000, intervalMs: 500, what: `http://${ip}/ (Service web) to answer from the host` });
    expect(body).toBe('Hello World\n');
    const dig = await h.execOk(['dig', '@10.0.0.10', '+short', 'web.default.svc.cluster.local']);
    expect(dig.stdout.trim()).toBe(ip);
  });

  t('a killed component is restarted by the supervisor', async () => {
    const pidOf = (name: string) => (JSON.parse(readFileSync(`${stateDir}/run/${name}.pid`, 'utf8')) as { pid: number }).pid;
    const old = pidOf('dnsd');
    process.kill(old, 'SIGKILL');
    await waitFor(async () => {
      if (!existsSync(`${stateDir}/run/dnsd.pid`) || pidOf('dnsd') === old) return false;
      return (await pilot(['status', '--state-dir', stateDir])).exitCode === 0;
    }, { timeoutMs: 60_000, intervalMs: 500, what: 'dnsd restarted and every component healthy' });
  });

  t('pilot down leaves the host as it was before pilot up (the data stays)', async () => {
    process.stdout.write(await pilotOk(['down', '--state-dir', stateDir]));
    const after = await snapshot(false);
    expect({ ...after, files: [] }).toEqual({ ...before, files: [] });
    expect(existsSync(`${stateDir}/etcd`)).toBe(true);
    expect((await pilot(['status', '--state-dir', stateDir])).exitCode).toBe(1);
  });

  t('pilot up again brings back the same objects; pilot down --purge leaves nothing, the state dir included', async () => {
    process.stdout.write(await pilotOk(['up', '--state-dir', stateDir, '--node-name', h.name, '--image-store', store, '--cgroup-parent', cgroupParentOf(c!.prefix, h.name)]));
    const svc = JSON.parse(await k.ok(['get', 'svc', 'web', '-o', 'json'])) as Service;
    expect(svc.spec?.ports?.[0]?.port).toBe(80);
    process.stdout.write(await pilotOk(['down', '--state-dir', stateDir, '--purge']));
    expect(await snapshot(true)).toEqual(before);
  }, 240_000);
});

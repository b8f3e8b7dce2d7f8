import { existsSync, readFileSync } from 'node:fs';
import { waitFor } from '@pilot/common';
import { parseEnvFile, waitForPort, type Cluster, type Daemon, type Host, type NetnsPod } from '@pilot/netns';

/** Shared by the overlayd e2e suites: start the daemon on a host, read what it wrote, probe pods. */

export const OVERLAYD_BIN = new URL('../../../packages/overlayd/dist/bin/overlayd.js', import.meta.url).pathname;
export const PREFIX = '/coreos.com/network';

export interface Started {
  host: Host;
  daemon: Daemon;
  subnetFile: string;
  dockerOptsFile: string;
}

export function overlaydArgs(c: Cluster, h: Host, extra: readonly string[] = []): string[] {
  return [
    process.execPath,
    OVERLAYD_BIN,
    '--etcd-endpoints', c.etcd!.endpoint,
    '--iface', 'eth0',
    '--node-name', h.name,
    '--subnet-file', `${h.stateDir}/subnet.env`,
    '--docker-opts-file', `${h.stateDir}/docker-opts.env`,
    '--reconcile-interval', '1s',
    ...extra,
  ];
}

export function startOverlayd(c: Cluster, h: Host, extra: readonly string[] = [], name = 'overlayd'): Started {
  const daemon = h.spawn(name, overlaydArgs(c, h, extra));
  // A later flag wins (commander keeps the last value), so overrides in `extra` name the files.
  const flag = (f: string, def: string) => (extra.includes(f) ? extra[extra.lastIndexOf(f) + 1]! : def);
  return {
    host: h,
    daemon,
    subnetFile: flag('--subnet-file', `${h.stateDir}/subnet.env`),
    dockerOptsFile: flag('--docker-opts-file', `${h.stateDir}/docker-opts.env`),
  };
}

export async function putConfig(c: Cluster, config: object | string, prefix = PREFIX): Promise<void> {
  const text = typeof config === 'string' ? config : JSON.stringify(config);
  const r = await c.etcd!.etcdctl(['put', `${prefix}/config`, text]);
  if (r.exitCode !== 0) throw new Error(`etcdctl put config: ${r.stderr}`);
}

export function readEnv(path: string): Record<string, string> {
  return parseEnvFile(readFileSync(path, 'utf8'));
}

export async function waitSubnetEnv(s: Started, timeoutMs = 30_000): Promise<Record<string, string>> {
  return waitFor(
    () => {
      if (!s.daemon.running) throw new Error(`overlayd on ${s.host.name} exited ${JSON.stringify(s.daemon.exit)}`);
      return existsSync(s.subnetFile) ? readEnv(s.subnetFile) : undefined;
    },
    { timeoutMs, what: `${s.subnetFile} from overlayd on ${s.host.name}` },
  );
}

/** `config` in etcd, overlayd (with `extra` flags) on every host, and each host's subnet.env once written. */
export async function startOverlaydEverywhere(
  c: Cluster,
  config: object,
  extra: readonly string[] = [],
  timeoutMs?: number,
): Promise<{ od: Started[]; envs: Record<string, string>[] }> {
  await putConfig(c, config);
  const od = c.hosts.map((h) => startOverlayd(c, h, extra));
  const envs = await Promise.all(od.map((s) => waitSubnetEnv(s, timeoutMs)));
  return { od, envs };
}

/** Leases as etcdctl shows them: key → value. */
export async function etcdLeases(c: Cluster): Promise<Map<string, { PublicIP: string; BackendType: string; BackendData?: { VtepMAC?: string }; NodeName?: string }>> {
  const r = await c.etcd!.etcdctl(['get', '--prefix', `${PREFIX}/subnets/`]);
  if (r.exitCode !== 0) throw new Error(`etcdctl get: ${r.stderr}`);
  const lines = r.stdout.split('\n').filter(Boolean);
  const out = new Map();
  for (let i = 0; i + 1 < lines.length; i += 2) out.set(lines[i]!.slice(`${PREFIX}/subnets/`.length), JSON.parse(lines[i + 1]!));
  return out;
}

/** `10.1.5.1/24` → `10.1.5.0-24`. */
export function keyOf(flannelSubnet: string): string {
  const [ip, len] = flannelSubnet.split('/');
  const o = ip!.split('.');
  o[3] = '0';
  return `${o.join('.')}-${len}`;
}

/** `10.1.5.1/24` → `10.1.5.0/24`. */
export function netOf(flannelSubnet: string): string {
  return keyOf(flannelSubnet).replace('-', '/');
}

/**
 * A tiny HTTP server answering `<name> saw <client address>`: TCP
 * reachability with proof of who answered and of whether the client was NATed.
 */
export async function startWebServer(target: NetnsPod | Host, name: string, port = 8080): Promise<void> {
  const argv = [process.execPath, '-e', `require('http').createServer((q,s)=>s.end(${JSON.stringify(name)}+' saw '+q.socket.remoteAddress)).listen(${port}, '0.0.0.0')`];
  target.spawn(`web${port}`, argv);
  await waitForPort(target, target.ip, port);
}

/** A pod serving HTTP as `pod-on-<host>`. */
export interface NamedPod {
  pod: NetnsPod;
  name: string;
}

/**
 * On every host: the bridge from the subnet.env its overlayd wrote (as
 * dockerd --bip would set it up), one pod on it, serving HTTP as `pod-on-<host>`.
 */
export async function podsOnEveryHost(c: Cluster, od: readonly Started[]): Promise<NamedPod[]> {
  const pods: NamedPod[] = [];
  for (const [i, h] of c.hosts.entries()) {
    await h.configureBridgeFromSubnetEnv(od[i]!.subnetFile);
    const pod = await h.addPod();
    await startWebServer(pod, `pod-on-${h.name}`);
    pods.push({ pod, name: `pod-on-${h.name}` });
  }
  return pods;
}

export async function httpGet(from: NetnsPod | Host, ip: string, port = 8080): Promise<string> {
  const r = await from.exec(['curl', '-s', '--max-time', '5', `http://${ip}:${port}/`], { timeoutMs: 10_000 });
  if (r.exitCode !== 0) throw new Error(`curl ${ip}:${port} exited ${r.exitCode}: ${r.stderr}`);
  return r.stdout;
}

export async function ping(from: NetnsPod | Host, ip: string): Promise<boolean> {
  const r = await from.exec(['ping', '-c', '1', '-W', '2', ip], { timeoutMs: 10_000 });
  return r.exitCode === 0;
}

/** Polls until every pod reaches every other pod by ping and HTTP (the first packets may race ARP/route setup). */
export async function expectFullMesh(pods: readonly NamedPod[], timeoutMs = 20_000): Promise<void> {
  const pairs = pods.flatMap((a) => pods.filter((b) => b !== a).map((b) => [a, b] as const));
  await Promise.all(
    pairs.map(([a, b]) =>
      // The answer names the server and the client address it saw: pod to pod is never NATed.
      waitFor(async () => (await ping(a.pod, b.pod.ip)) && (await httpGet(a.pod, b.pod.ip)) === `${b.name} saw ${a.pod.ip}`, {
        timeoutMs,
        intervalMs: 300,
        what: `${a.name} (${a.pod.ip}) to reach ${b.name} (${b.pod.ip}) by ping and HTTP`,
      }),
    ),
  );
}

/** `ip route show proto 79` on a host, one line per route. */
export async function overlaydRoutes(h: Host): Promise<string[]> {
  const r = await h.execOk(['ip', 'route', 'show', 'proto', '79']);
  return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** Polls the daemon's /readyz over the underlay: 200 only once this run has written subnet.env. */
export async function waitReady(s: Started, port = 9199, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    async () => {
      if (!s.daemon.running) throw new Error(`overlayd on ${s.host.name} exited ${JSON.stringify(s.daemon.exit)}`);
      const res = await fetch(`http://${s.host.ip}:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
      return res.status === 200;
    },
    { timeoutMs, what: `overlayd on ${s.host.name} to be ready` },
  );
}

/** Waits for the daemon to exit and returns its status and the last line it printed. */
export async function exitLine(d: Daemon, timeoutMs = 30_000): Promise<{ code: number | null; line: string }> {
  const exit = await d.waitExit(timeoutMs);
  const lines = d.log().trimEnd().split('\n');
  return { code: exit.code, line: lines[lines.length - 1] ?? '' };
}

/**
 * bench/overlay: what overlayd costs, each figure beside its anchor measured
 * in the same run.
 *
 *  1. Lease propagation: a new lease put into etcd → the route present on
 *     every other host (seen with `ip monitor route`), beside etcd's own
 *     put → watch latency for a Node watcher of the same key.
 *  2. Pod → pod TCP throughput (iperf3) over vxlan and over host-gw as
 *     overlayd programs them, beside the same path configured by hand with
 *     `ip` commands, and beside the underlay host → host.
 *
 * Run: node_modules/.bin/tsx bench/overlay/main.ts   (root; builds its own netns cluster)
 * Env: BENCH_LEASES (default 40), BENCH_IPERF_RUNS (default 3), BENCH_IPERF_SECONDS (default 3).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Etcd3 } from 'etcd3';
import { parseEnvFile, waitFor } from '@pilot/common';
import { Cluster, type Daemon, type Host, type NetnsPod } from '@pilot/netns';
import { fmt, median, quantile, recordRow, table } from '../lib/report.js';

const OVERLAYD = new URL('../../packages/overlayd/dist/bin/overlayd.js', import.meta.url).pathname;
const LEASES = Number(process.env.BENCH_LEASES ?? 40);
const IPERF_RUNS = Number(process.env.BENCH_IPERF_RUNS ?? 3);
const IPERF_SECONDS = Number(process.env.BENCH_IPERF_SECONDS ?? 3);

/** `ip -o monitor route` in a host: calls back with each line and when it was read. */
function monitorRoutes(h: Host, onLine: (line: string, at: number) => void): ChildProcess {
  const child = spawn('nsenter', [`--net=/run/netns/${h.ns}`, '--', 'ip', '-o', 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
  if (child.pid) h.cluster.rememberPid(child.pid);
  createInterface({ input: child.stdout! }).on('line', (l) => onLine(l, performance.now()));
  return child;
}

function startOverlayd(c: Cluster, h: Host, prefix: string, name: string): Daemon {
  return h.spawn(name, [
    process.execPath, OVERLAYD,
    '--etcd-endpoints', c.etcd!.endpoint,
    '--etcd-prefix', prefix,
    '--iface', 'eth0',
    '--node-name', h.name,
    '--subnet-file', `${h.stateDir}/subnet.env`,
    '--docker-opts-file', '',
  ]);
}

async function waitEnv(h: Host, d: Daemon): Promise<void> {
  await waitFor(() => {
    if (!d.running) throw new Error(`overlayd on ${h.name} exited: ${d.log().trimEnd().split('\n').pop()}`);
    return existsSync(`${h.stateDir}/subnet.env`);
  }, { timeoutMs: 30_000, what: `subnet.env on ${h.name}` });
}

/** Part 1: lease put → route on every other host, beside put → watch. */
async function leasePropagation(c: Cluster): Promise<void> {
  const prefix = '/coreos.com/network';
  const etcd = new Etcd3({ hosts: c.etcd!.endpoint });
  await etcd.put(`${prefix}/config`).value(JSON.stringify({ Network: '10.1.0.0/16', Backend: { Type: 'vxlan' } }));
  const daemons = c.hosts.map((h) => startOverlayd(c, h, prefix, 'overlayd'));
  await Promise.all(c.hosts.map((h, i) => waitEnv(h, daemons[i]!)));

  const waiting = new Map<string, { need: Set<string>; resolve: () => void; last: number }>();
  const monitors = c.hosts.map((h) =>
    monitorRoutes(h, (line, at) => {
      const m = /^(Deleted )?(\d+\.\d+\.\d+\.\d+\/\d+) .*proto 79/.exec(line);
      if (!m) return;
      const w = waiting.get(`${m[1] ? 'del' : 'add'} ${m[2]}`);
      if (!w || !w.need.delete(h.name)) return;
      w.last = at;
      if (w.need.size === 0) w.resolve();
    }),
  );
  const watchSeen = new Map<string, (at: number) => void>();
  const watcher = await etcd.watch().prefix(`${prefix}/subnets/`).create();
  watcher.on('put', (kv) => watchSeen.get(`put ${kv.key.toString()}`)?.(performance.now()));
  watcher.on('delete', (kv) => watchSeen.get(`delete ${kv.key.toString()}`)?.(performance.now()));
  await new Promise((r) => setTimeout(r, 500)); // let the monitors attach (bench only; tests never sleep)

  const expect = (kind: 'add' | 'del', subnet: string) =>
    new Promise<number>((resolve) => {
      const w = { need: new Set(c.hosts.map((h) => h.name)), resolve: () => resolve(w.last), last: 0 };
      waiting.set(`${kind} ${subnet}`, w);
    });
  const watched = (kind: 'put' | 'delete', key: string) => new Promise<number>((resolve) => watchSeen.set(`${kind} ${key}`, resolve));

  const add: number[] = [];
  const del: number[] = [];
  const watchPut: number[] = [];
  const watchDel: number[] = [];
  for (let i = 0; i < LEASES; i++) {
    const subnet = `10.1.${200 + (i % 50)}.0/24`;
    const key = `${prefix}/subnets/${subnet.replace('/', '-')}`;
    const value = JSON.stringify({ PublicIP: c.underlay.nth(200), BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: `02:00:00:00:01:${(i % 256).toString(16).padStart(2, '0')}` }, NodeName: 'bench' });
    const routed = expect('add', subnet);
    const seen = watched('put', key);
    const t0 = performance.now();
    await etcd.put(key).value(value);
    watchPut.push((await seen) - t0);
    add.push((await routed) - t0);
    const gone = expect('del', subnet);
    const seenDel = watched('delete', key);
    const t1 = performance.now();
    await etcd.delete().key(key);
    watchDel.push((await seenDel) - t1);
    del.push((await gone) - t1);
  }
  await watcher.cancel();
  for (const m of monitors) m.kill();
  etcd.close();
  await Promise.all(daemons.map((d) => d.stop()));

  recordRow({
    bench: 'overlay', figure: `new lease → route on every host, median`, unit: 'ms', value: median(add), better: 'lower',
    anchor: 'etcd put → watch, median', anchorValue: median(watchPut), runs: 1, note: `${LEASES} leases`,
  });
  table(
    `Lease propagation, ${LEASES} leases, ${c.hosts.length} hosts running overlayd (ms, measured from just before the etcd put or delete)`,
    ['what', 'median', 'p99', 'anchor: etcd put→watch median', 'anchor p99', 'median ÷ anchor'],
    [
      ['new lease → route on every host', fmt(median(add)), fmt(quantile(add, 0.99)), fmt(median(watchPut)), fmt(quantile(watchPut, 0.99)), fmt(median(add) / median(watchPut))],
      ['deleted lease → route gone on every host', fmt(median(del)), fmt(quantile(del, 0.99)), fmt(median(watchDel)), fmt(quantile(watchDel, 0.99)), fmt(median(del) / median(watchDel))],
    ],
  );
}

async function iperf(from: NetnsPod | Host, server: NetnsPod | Host, port: number): Promise<number> {
  const srv = server.spawn(`iperf3-${port}`, ['iperf3', '-s', '-1', '-p', String(port)]);
  await waitFor(async () => (await server.exec(['ss', '-Htln', `sport = :${port}`])).stdout.includes(`:${port}`), { timeoutMs: 10_000, what: `iperf3 on ${server.ip}:${port}` });
  const r = await from.exec(['iperf3', '-c', server.ip, '-p', String(port), '-t', String(IPERF_SECONDS), '-J'], { timeoutMs: (IPERF_SECONDS + 20) * 1000 });
  await srv.stop();
  if (r.exitCode !== 0) throw new Error(`iperf3 ${server.ip}: ${r.stderr || r.stdout.slice(0, 300)}`);
  const j = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
  return j.end.sum_received.bits_per_second / 1e9;
}

async function runs(label: string, results: Map<string, number[]>, fn: () => Promise<number>): Promise<void> {
  const xs: number[] = [];
  for (let i = 0; i < IPERF_RUNS; i++) xs.push(await fn());
  results.set(label, [...(results.get(label) ?? []), ...xs]);
}

/** Part 2: pod → pod throughput, overlayd vs the same path by hand vs the underlay. */
async function throughput(c: Cluster): Promise<void> {
  const [h1, h2] = [c.hosts[0]!, c.hosts[1]!];
  const results = new Map<string, number[]>();
  let port = 5201;
  const env = (h: Host) => parseEnvFile(readFileSync(`${h.stateDir}/subnet.env`, 'utf8'));
  const podsFor = async (mtu: number) => {
    const out: NetnsPod[] = [];
    for (const h of [h1, h2]) {
      await h.configureBridge(env(h).FLANNEL_SUBNET!, mtu);
      out.push(await h.addPod());
    }
    return out as [NetnsPod, NetnsPod];
  };

  await runs('underlay host → host', results, () => iperf(h1, h2, port++));

  // vxlan as overlayd programs it (the part-1 leases are still held, so the subnets are known).
  const vx = [h1, h2].map((h) => startOverlayd(c, h, '/coreos.com/network', 'overlayd-vx'));
  await Promise.all([h1, h2].map((h, i) => waitEnv(h, vx[i]!)));
  let [p1, p2] = await podsFor(1450);
  await waitFor(async () => (await p1.exec(['ping', '-c', '1', '-W', '1', p2.ip])).exitCode === 0, { what: 'pod ping over vxlan' });
  await runs('pod → pod, vxlan, overlayd', results, () => iperf(p1, p2, port++));
  await Promise.all(vx.map((d) => d.stop()));

  // The same vxlan path by hand: flannel.1 with the same settings, one neighbour, FDB entry and route per peer.
  const subnets = await Promise.all([h1, h2].map(async (h) => (await env(h)).FLANNEL_SUBNET!.replace(/\.1\//, '.0/')));
  const macs = ['02:00:00:aa:00:01', '02:00:00:aa:00:02'];
  for (const [i, h] of [h1, h2].entries()) {
    const peer = 1 - i;
    const [net, peerNet] = [subnets[i]!, subnets[peer]!];
    const peerGw = peerNet.split('/')[0]!;
    await h.execOk(['ip', 'link', 'del', 'flannel.1']);
    await h.execOk(['ip', 'link', 'add', 'flannel.1', 'address', macs[i]!, 'mtu', '1450', 'type', 'vxlan', 'id', '1', 'local', h.ip, 'dev', 'eth0', 'dstport', '8472', 'nolearning']);
    await h.execOk(['ip', 'addr', 'add', `${net.split('/')[0]}/32`, 'dev', 'flannel.1']);
    await h.execOk(['ip', 'link', 'set', 'flannel.1', 'up']);
    await h.execOk(['ip', 'neigh', 'replace', peerGw, 'lladdr', macs[peer]!, 'dev', 'flannel.1', 'nud', 'permanent']);
    await h.execOk(['bridge', 'fdb', 'append', macs[peer]!, 'dev', 'flannel.1', 'dst', [h1, h2][peer]!.ip, 'self', 'permanent']);
    await h.execOk(['ip', 'route', 'add', peerNet, 'via', peerGw, 'dev', 'flannel.1', 'onlink']);
  }
  await waitFor(async () => (await p1.exec(['ping', '-c', '1', '-W', '1', p2.ip])).exitCode === 0, { what: 'pod ping over hand-made vxlan' });
  await runs('pod → pod, vxlan, by hand', results, () => iperf(p1, p2, port++));
  for (const h of [h1, h2]) await h.execOk(['ip', 'link', 'del', 'flannel.1']);

  // host-gw as overlayd programs it: a second network config under its own prefix; subnet.env keeps the subnets.
  const etcd = new Etcd3({ hosts: c.etcd!.endpoint });
  await etcd.put('/bench/hostgw/config').value(JSON.stringify({ Network: '10.1.0.0/16', Backend: { Type: 'host-gw' } }));
  etcd.close();
  const hg = [h1, h2].map((h) => startOverlayd(c, h, '/bench/hostgw', 'overlayd-hg'));
  await Promise.all([h1, h2].map((h) => waitFor(async () => (await h.exec(['ip', 'route', 'show', 'proto', '79'])).stdout.includes('dev eth0'), { what: `host-gw route on ${h.name}` })));
  [p1, p2] = await podsFor(1500);
  await waitFor(async () => (await p1.exec(['ping', '-c', '1', '-W', '1', p2.ip])).exitCode === 0, { what: 'pod ping over host-gw' });
  await runs('pod → pod, host-gw, overlayd', results, () => iperf(p1, p2, port++));
  await Promise.all(hg.map((d) => d.stop()));
  for (const h of [h1, h2]) await h.execOk(['ip', 'route', 'flush', 'proto', '79']);

  for (const [i, h] of [h1, h2].entries()) await h.execOk(['ip', 'route', 'add', subnets[1 - i]!, 'via', [h1, h2][1 - i]!.ip, 'dev', 'eth0']);
  await waitFor(async () => (await p1.exec(['ping', '-c', '1', '-W', '1', p2.ip])).exitCode === 0, { what: 'pod ping over hand-made host-gw' });
  await runs('pod → pod, host-gw, by hand', results, () => iperf(p1, p2, port++));

  await runs('underlay host → host', results, () => iperf(h1, h2, port++));

  const under = median(results.get('underlay host → host')!);
  const byHand: Record<string, string> = { 'pod → pod, vxlan, overlayd': 'pod → pod, vxlan, by hand', 'pod → pod, host-gw, overlayd': 'pod → pod, host-gw, by hand' };
  for (const [label, hand] of Object.entries(byHand)) {
    recordRow({ bench: 'overlay', figure: `${label.replace(', overlayd', '')} throughput`, unit: 'Gbit/s', value: median(results.get(label)!), better: 'higher', anchor: 'same path by hand (ip)', anchorValue: median(results.get(hand)!), runs: IPERF_RUNS });
  }
  table(
    `TCP throughput, iperf3 ${IPERF_SECONDS}s × ${IPERF_RUNS} runs per path (Gbit/s, median; underlay measured before and after)`,
    ['path', 'median', 'min', 'max', '÷ underlay', '÷ same path by hand'],
    [...results].map(([label, xs]) => {
      const hand = byHand[label] ? median(results.get(byHand[label])!) : NaN;
      return [label, fmt(median(xs), 2), fmt(Math.min(...xs), 2), fmt(Math.max(...xs), 2), fmt(median(xs) / under, 2), byHand[label] ? fmt(median(xs) / hand, 2) : ''];
    }),
  );
}

const cluster = await Cluster.create({ hosts: 3, etcd: true });
try {
  process.stdout.write(`bench/overlay: run ${cluster.prefix}, ${cluster.hosts.length} hosts, underlay ${cluster.underlay.toString()} MTU ${cluster.mtu}\n`);
  await leasePropagation(cluster);
  await throughput(cluster);
} finally {
  await cluster.teardown();
}

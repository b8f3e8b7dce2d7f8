/**
 * dnsd beside knotd, same machine, same run, same records.
 *
 *   1. dnsperf queries/s and p50/p99 latency for 1,000 cluster names
 *      (dnsd from a records file; knotd serving the same A records).
 *   2. The same for 1,000 upstream names: dnsd forwarding to knotd with its
 *      TTL cache warm, beside knotd answering them itself.
 *   3. Service create → name resolving through dnsd (median/p99), beside the
 *      apiserver's own write → watch-event latency, on a real etcd.
 *   4. TCP queries (a new connection each, as `dig +tcp`) idle and while
 *      1,000 slow senders hold connections open dripping a byte a second,
 *      dnsd beside knotd with its default TCP timeouts under the same load.
 *   5. What CoreDNS's metric names cost: two dnsd of the same build, one
 *      with --no-coredns-metrics, both scraped every second, measured in
 *      interleaved dnsperf runs (BENCH_METRICS_ROUNDS, default 3) on the same
 *      names; the q/s ratio with/without is the figure (1.00 = free).
 *      BENCH_ONLY=metrics runs this section alone.
 *
 * Run (root not needed): node_modules/.bin/tsx bench/dnsd/main.ts
 * (BENCH_DNSD_BIN=path/to/bin/dnsd.js benches another build of dnsd.)
 * Everything listens on 127.0.0.1 with kernel-chosen free ports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createReadStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ApiClient, type Service } from '@pilot/api';
import { createLogger, run, waitFor } from '@pilot/common';
import { SocketExchanger } from '../../packages/dnsd/src/forward.js';
import { Type, encodeQuery } from '../../packages/dnsd/src/wire.js';
import { resolveConfig, startApiserver } from '../../packages/orchestrator-core/src/index.js';
import { median, quantile, recordRow } from '../lib/report.js';
import { stopChild } from '../lib/process.js';
import { benchWorkspace } from '../lib/workspace.js';
import { freeLocalPort } from '@pilot/netns';

// BENCH_DNSD_BIN: another build of dnsd's bin (e.g. a copy of dist from before a change), for before/after runs.
const DNSD = process.env.BENCH_DNSD_BIN ?? fileURLToPath(new URL('../../packages/dnsd/dist/bin/dnsd.js', import.meta.url));
const N = 1000;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const CLIENTS = 4;
const CREATES = Number(process.env.BENCH_CREATES ?? 40);
const SLOW_SENDERS = Number(process.env.BENCH_SLOW_SENDERS ?? 1000);
const METRICS_ROUNDS = Number(process.env.BENCH_METRICS_ROUNDS ?? 3);
const ONLY = process.env.BENCH_ONLY;
const TCP_SECONDS = Number(process.env.BENCH_TCP_SECONDS ?? 10);
// The e2e's slow sender: N connections that each promise a 64-byte message and drip one byte per interval.
const SLOW_TCP = fileURLToPath(new URL('../../test/netns/dnsd/fixtures/slow-tcp.mjs', import.meta.url));

const ws = benchWorkspace('pilot-bench-dnsd-');
const { dir } = ws;


function start(name: string, argv: string[]): ChildProcess {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (b: Buffer) => {
    tail = (tail + b.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') process.stderr.write(`${name} exited (${code ?? signal}):\n${tail}\n`);
  });
  return ws.track(child);
}

const svcIp = (i: number) => `10.0.${Math.floor(i / 250) + 1}.${(i % 250) + 1}`;
const upIp = (i: number) => `192.0.2.${(i % 250) + 1}`;

interface PerfResult {
  qps: number;
  p50: number;
  p99: number;
  lost: number;
  rcodes: string;
}

/**
 * One dnsperf run. With `verbose`, dnsperf prints one line per query with its
 * latency (percentiles come from those) — that printing slows dnsperf itself,
 * so queries/s are taken from a separate quiet run.
 */
async function dnsperf(port: number, file: string, seconds: number, verbose: boolean): Promise<PerfResult> {
  const args = ['-s', '127.0.0.1', '-p', String(port), '-d', file, '-l', String(seconds), '-c', String(CLIENTS), '-q', '200'];
  const child = spawn('dnsperf', verbose ? [...args, '-v'] : args, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lat: number[] = [];
  let qps = 0;
  let lost = 0;
  let rcodes = '';
  const rl = createInterface({ input: child.stdout! });
  rl.on('line', (line) => {
    if (line.startsWith('> ')) {
      const v = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (Number.isFinite(v)) lat.push(v);
      return;
    }
    let m = /Queries per second:\s+([\d.]+)/.exec(line);
    if (m) qps = Number(m[1]);
    m = /Queries lost:\s+(\d+)/.exec(line);
    if (m) lost = Number(m[1]);
    m = /Response codes:\s+(.*)$/.exec(line);
    if (m) rcodes = m[1]!;
  });
  await new Promise((resolve) => child.once('exit', resolve));
  lat.sort((a, b) => a - b);
  const pct = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))]! * 1000 : NaN);
  return { qps, p50: pct(50), p99: pct(99), lost, rcodes };
}

/** One UDP question; resolves to the rcode and answer count (or undefined on timeout). */
function ask(port: number, name: string, timeoutMs = 500): Promise<{ rcode: number; answers: number } | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const id = Math.floor(Math.random() * 65536);
    const timer = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, timeoutMs);
    s.on('message', (msg) => {
      if (msg.readUInt16BE(0) !== id) return;
      clearTimeout(timer);
      s.close();
      resolve({ rcode: msg[3]! & 0xf, answers: msg.readUInt16BE(6) });
    });
    s.send(encodeQuery(id, name, Type.A), port, '127.0.0.1');
  });
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');

/** dnsd's own forwarding transport: over TCP, a new connection per question, as `dig +tcp` asks. */
const exchanger = new SocketExchanger();

/** Milliseconds from connect to the whole answer, or undefined when refused, reset or unanswered within `timeoutMs`. */
async function askTcp(port: number, name: string, timeoutMs: number): Promise<number | undefined> {
  const t0 = performance.now();
  try {
    await exchanger.exchange({ host: '127.0.0.1', port }, encodeQuery(0, name, Type.A), { tcp: true, timeoutMs });
    return performance.now() - t0;
  } catch {
    return undefined;
  }
}

interface TcpRun {
  answered: number[];
  failed: number;
}

/**
 * Sequential TCP questions for cluster names for TCP_SECONDS, each with a
 * 5 s limit (dig's +tcp timeout), so a run spans several of dnsd's 2 s read
 * deadlines and the server's eviction of slow connections is on the path.
 */
async function tcpQueries(port: number): Promise<TcpRun> {
  const answered: number[] = [];
  let failed = 0;
  const until = performance.now() + TCP_SECONDS * 1000;
  for (let i = 0; performance.now() < until; i++) {
    const ms = await askTcp(port, `svc-${i % N}.default.svc.cluster.local`, 5_000);
    if (ms === undefined) failed++;
    else answered.push(ms);
  }
  return { answered, failed };
}

/**
 * Holds SLOW_SENDERS slow connections against `port` (reopened when the
 * server closes them) for as long as `body` runs; resolves with body's
 * result, the most connections the server held at once, and how many it
 * closed meanwhile.
 */
async function underSlowSenders<T>(port: number, body: () => Promise<T>): Promise<{ result: T; held: number; closedByServer: number }> {
  const child = start('slow-tcp', [process.execPath, SLOW_TCP, '127.0.0.1', String(port), String(SLOW_SENDERS), '1000', '600']);
  let open = 0;
  let closed = 0;
  let opened = 0;
  let steady = 0; // stats lines (one a second) in a row without a new connection
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const m = /^open (\d+) closed (\d+) opened (\d+)/.exec(line);
    if (!m) return;
    steady = Number(m[3]) === opened ? steady + 1 : 0;
    [open, closed, opened] = [Number(m[1]), Number(m[2]), Number(m[3])];
  });
  try {
    // Under load once every slow connection was opened at least once, or the
    // server takes no more (a full accept queue: the rest wait in SYN-SENT).
    await waitFor(() => opened >= SLOW_SENDERS || (opened > 0 && steady >= 3), { timeoutMs: 60_000, what: `${SLOW_SENDERS} slow connections opened, or the server taking no more` });
    const held = open;
    const before = closed;
    const result = await body();
    return { result, held: Math.max(held, open), closedByServer: closed - before };
  } finally {
    await stopChild(child);
  }
}


async function throughput(): Promise<void> {
  // Records: N ClusterIP services for dnsd, the same A records for knot.
  const items: object[] = [{ kind: 'Namespace', metadata: { name: 'default' } }];
  let clusterZone = `$TTL 5\n@ IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5\n@ IN NS ns.dns\nns.dns IN A 10.0.0.10\n`;
  let upstreamZone = `$TTL 3600\n@ IN SOA ns.example.test. hostmaster.example.test. 1 7200 1800 86400 60\n@ IN NS ns\nns IN A 127.0.0.1\n`;
  const clusterQueries: string[] = [];
  const upstreamQueries: string[] = [];
  for (let i = 0; i < N; i++) {
    items.push({ kind: 'Service', metadata: { name: `svc-${i}`, namespace: 'default' }, spec: { clusterIP: svcIp(i), ports: [{ name: 'http', port: 80 }] } });
    clusterZone += `svc-${i}.default.svc IN A ${svcIp(i)}\n`;
    upstreamZone += `host-${i} IN A ${upIp(i)}\n`;
    clusterQueries.push(`svc-${i}.default.svc.cluster.local A`);
    upstreamQueries.push(`host-${i}.example.test A`);
  }
  writeFileSync(join(dir, 'records.json'), JSON.stringify({ kind: 'List', items }));
  writeFileSync(join(dir, 'cluster.local.zone'), clusterZone);
  writeFileSync(join(dir, 'example.test.zone'), upstreamZone);
  writeFileSync(join(dir, 'cluster.txt'), clusterQueries.join('\n') + '\n');
  writeFileSync(join(dir, 'upstream.txt'), upstreamQueries.join('\n') + '\n');

  const knotPort = await freeLocalPort({ udp: true });
  mkdirSync(join(dir, 'knot-db'));
  writeFileSync(
    join(dir, 'knot.conf'),
    `server:\n  listen: 127.0.0.1@${knotPort}\n  rundir: ${dir}\n  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n` +
      `database:\n  storage: ${dir}/knot-db\n` +
      `zone:\n  - domain: cluster.local\n    storage: ${dir}\n    file: cluster.local.zone\n  - domain: example.test\n    storage: ${dir}\n    file: example.test.zone\n` +
      `log:\n  - target: stderr\n    any: warning\n`,
  );
  const knot = start('knotd', ['knotd', '-c', join(dir, 'knot.conf')]);

  await waitFor(async () => (await ask(knotPort, 'svc-1.default.svc.cluster.local'))?.answers === 1, { timeoutMs: 20_000, what: 'knotd answering' });
  if (ONLY === 'metrics') {
    await metricsCost(knotPort);
    await stopChild(knot);
    return;
  }
  const { port: dnsdPort, child: dnsd } = await startDnsd(knotPort);

  const measure = async (port: number, file: string): Promise<PerfResult> => {
    const quiet = await dnsperf(port, join(dir, file), SECONDS, false);
    const verbose = await dnsperf(port, join(dir, file), Math.max(2, SECONDS / 2), true);
    return { ...quiet, p50: verbose.p50, p99: verbose.p99 };
  };
  const rows: [string, PerfResult, PerfResult][] = [];
  const kc = await measure(knotPort, 'cluster.txt');
  const dc = await measure(dnsdPort, 'cluster.txt');
  rows.push(['cluster names (1,000 A)', dc, kc]);
  const ku = await measure(knotPort, 'upstream.txt');
  const du = await measure(dnsdPort, 'upstream.txt');
  rows.push(['upstream names, cached (1,000 A)', du, ku]);

  console.log(`\ndnsperf, ${CLIENTS} clients, UDP on loopback; q/s from a quiet ${SECONDS} s run, p50/p99 from a ${Math.max(2, SECONDS / 2)} s run with per-query latencies (-v);`);
  console.log('knotd with 1 UDP worker (dnsd is one Node thread); knotd answers the upstream names itself (authoritative), dnsd from its forward cache\n');
  console.log('| names | dnsd q/s | dnsd p50 ms | dnsd p99 ms | knotd q/s | knotd p50 ms | knotd p99 ms | q/s ratio dnsd/knotd |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const [what, d, k] of rows) {
    console.log(`| ${what} | ${fmt(d.qps)} | ${fmt(d.p50, 3)} | ${fmt(d.p99, 3)} | ${fmt(k.qps)} | ${fmt(k.p50, 3)} | ${fmt(k.p99, 3)} | ${fmt(d.qps / k.qps, 2)} |`);
  }
  for (const [what, d, k] of rows) {
    recordRow({ bench: 'dnsd', figure: `${what} q/s`, unit: 'q/s', value: d.qps, better: 'higher', anchor: 'knotd, 1 UDP worker, same names', anchorValue: k.qps, runs: 1 });
  }
  for (const [what, d, k] of rows) {
    if (d.lost || k.lost) console.log(`  (${what}: lost dnsd ${d.lost}, knotd ${k.lost})`);
    console.log(`  ${what}: dnsd rcodes ${d.rcodes}; knotd rcodes ${k.rcodes}`);
  }
  await slowSenders(dnsdPort, knotPort);
  await stopChild(dnsd);
  await metricsCost(knotPort);
  await stopChild(knot);
}

/**
 * A dnsd serving records.json and forwarding to knotd, answering and with
 * its forward cache warm for every upstream name (TTL 3600: warm for the run).
 */
async function startDnsd(knotPort: number, extra: string[] = [], name = 'dnsd'): Promise<{ port: number; healthz: number; child: ChildProcess }> {
  const port = await freeLocalPort({ udp: true });
  const healthz = await freeLocalPort({ udp: true });
  const child = start(name, [
    process.execPath, DNSD, '--records', join(dir, 'records.json'), '--listen', `127.0.0.1:${port}`, '--advertise-address', '127.0.0.1',
    '--upstream', `127.0.0.1:${knotPort}`, '--allow-recursion', '127.0.0.0/8', '--healthz-port', String(healthz), ...extra,
  ]);
  await waitFor(async () => (await ask(port, 'svc-1.default.svc.cluster.local'))?.answers === 1, { timeoutMs: 20_000, what: `${name} answering` });
  await run(['dnsperf', '-s', '127.0.0.1', '-p', String(port), '-d', join(dir, 'upstream.txt'), '-n', '1', '-c', '1'], { timeoutMs: 60_000 });
  return { port, healthz, child };
}

/**
 * Section 5: q/s of dnsd exporting CoreDNS's names beside its own against
 * the same build without them, in the same run: interleaved rounds (the
 * order flips each round, so drift on a shared machine hits both), both
 * scraped every second (Prometheus' default is 15 s) so the scrape-time
 * computation of the series is inside the figure.
 */
async function metricsCost(knotPort: number): Promise<void> {
  const servers = [
    { label: 'with coredns_* names (default)', ...(await startDnsd(knotPort, [], 'dnsd-coredns')) },
    { label: 'without (--no-coredns-metrics)', ...(await startDnsd(knotPort, ['--no-coredns-metrics'], 'dnsd-plain')) },
  ];
  let scraping = true;
  const scrapes = servers.map(async (sv) => {
    let last = '';
    while (scraping) {
      try {
        last = await (await fetch(`http://127.0.0.1:${sv.healthz}/metrics`)).text();
      } catch {
        /* a missed scrape; the next one comes */
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    return last;
  });
  const sets = [['cluster names (1,000 A)', 'cluster.txt'], ['upstream names, cached (1,000 A)', 'upstream.txt']] as const;
  const qps = new Map<string, number[]>();
  for (let round = 0; round < METRICS_ROUNDS; round++) {
    const order = round % 2 === 0 ? servers : [...servers].reverse();
    for (const [what, file] of sets) {
      for (const sv of order) {
        const r = await dnsperf(sv.port, join(dir, file), SECONDS, false);
        const key = `${what}|${sv.label}`;
        qps.set(key, [...(qps.get(key) ?? []), r.qps]);
      }
    }
  }
  scraping = false;
  const [withText, withoutText] = await Promise.all(scrapes);
  for (const sv of servers) await stopChild(sv.child);
  const exported = (t: string) => (t.match(/^# TYPE coredns_\S+/gm) ?? []).length;
  console.log(`\nWhat CoreDNS's metric names cost: one dnsd build twice, with and without --no-coredns-metrics, each scraped every second;`);
  console.log(`dnsperf ${CLIENTS} clients, UDP on loopback, ${SECONDS} s runs, ${METRICS_ROUNDS} interleaved rounds (order flipped each round); the anchor is the run without them`);
  console.log(`(coredns_* series exported: with ${exported(withText!)}, without ${exported(withoutText!)})\n`);
  console.log('| names | with coredns_* q/s (median; runs) | without q/s (median; runs) | q/s ratio with/without (median) | per-round ratios |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const [what] of sets) {
    const w = qps.get(`${what}|${servers[0]!.label}`)!;
    const wo = qps.get(`${what}|${servers[1]!.label}`)!;
    const ratios = w.map((x, i) => x / wo[i]!);
    console.log(`| ${what} | ${fmt(median(w))}; ${w.map((x) => fmt(x)).join(', ')} | ${fmt(median(wo))}; ${wo.map((x) => fmt(x)).join(', ')} | ${fmt(median(w) / median(wo), 2)} | ${ratios.map((x) => fmt(x, 2)).join(', ')} |`);
  }
}

/** Section 4: the same servers, TCP questions idle and under slow senders. */
async function slowSenders(dnsdPort: number, knotPort: number): Promise<void> {
  const runs: { name: string; idle: TcpRun; loaded: TcpRun; held: number; closed: number }[] = [];
  for (const [name, port] of [['dnsd', dnsdPort], ['knotd', knotPort]] as const) {
    const idle = await tcpQueries(port);
    const { result: loaded, held, closedByServer } = await underSlowSenders(port, () => tcpQueries(port));
    runs.push({ name, idle, loaded, held, closed: closedByServer });
  }
  const p = (r: TcpRun, q: number) => quantile(r.answered, q);
  console.log(`\nTCP questions, a new connection each (as dig +tcp), one after another for ${TCP_SECONDS} s, idle and while ${SLOW_SENDERS} slow senders each promise a 64-byte message and drip a byte a second (reopening when closed);`);
  console.log('knotd with 1 TCP worker and its default TCP timeouts; "failed" = refused, reset or unanswered within 5 s\n');
  console.log('| server | idle answered | idle p50 ms | idle p99 ms | idle failed | loaded answered | loaded p50 ms | loaded p99 ms | loaded failed | slow connections held | closed by the server meanwhile |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of runs) {
    console.log(`| ${r.name} | ${r.idle.answered.length} | ${fmt(p(r.idle, 0.5), 2)} | ${fmt(p(r.idle, 0.99), 2)} | ${r.idle.failed} | ${r.loaded.answered.length} | ${fmt(p(r.loaded, 0.5), 2)} | ${fmt(p(r.loaded, 0.99), 2)} | ${r.loaded.failed} | ${r.held} | ${r.closed} |`);
  }
  const [d, k] = runs as [(typeof runs)[0], (typeof runs)[0]];
  console.log(`| ratio dnsd/knotd | ${fmt(d.idle.answered.length / k.idle.answered.length, 2)} | ${fmt(p(d.idle, 0.5) / p(k.idle, 0.5), 2)} | ${fmt(p(d.idle, 0.99) / p(k.idle, 0.99), 2)} | | ${fmt(d.loaded.answered.length / k.loaded.answered.length, 2)} | ${fmt(p(d.loaded, 0.5) / p(k.loaded, 0.5), 2)} | ${fmt(p(d.loaded, 0.99) / p(k.loaded, 0.99), 2)} | | | |`);
}

async function programmingLatency(): Promise<void> {
  const etcdClient = await freeLocalPort({ udp: true });
  const etcdPeer = await freeLocalPort({ udp: true });
  const etcdUrl = `http://127.0.0.1:${etcdClient}`;
  start('etcd', [
    'etcd',
    '--name', 'bench',
    '--data-dir', join(dir, 'etcd'),
    '--listen-client-urls', etcdUrl,
    '--advertise-client-urls', etcdUrl,
    '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`,
    '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`,
    '--initial-cluster', `bench=http://127.0.0.1:${etcdPeer}`,
    '--log-level', 'warn',
    '--logger', 'zap',
  ]);
  await waitFor(async () => (await run(['curl', '-sf', `${etcdUrl}/health`], { check: false })).exitCode === 0, { timeoutMs: 30_000, what: 'etcd healthy' });
  const apiPort = await freeLocalPort({ udp: true });
  const server = await startApiserver(
    resolveConfig({ etcdServers: etcdUrl, insecurePort: String(apiPort), etcdCompactionInterval: '0', serviceClusterIpRange: '10.0.0.0/16' }),
    { log: createLogger('apiserver', { level: 'warn' }) },
  );
  const url = server.insecureUrl!;
  const client = new ApiClient({ server: url });

  const dnsdPort = await freeLocalPort({ udp: true });
  const dnsd = start('dnsd', [
    process.execPath, DNSD, '--master', url, '--listen', `127.0.0.1:${dnsdPort}`, '--advertise-address', '127.0.0.1',
    '--upstream', '127.0.0.1:9', '--healthz-port', String(await freeLocalPort({ udp: true })),
  ]);
  await waitFor(async () => (await ask(dnsdPort, 'kubernetes.default.svc.cluster.local'))?.answers === 1, { timeoutMs: 30_000, what: 'dnsd synced' });

  // Our own watch: the apiserver's write → watch-event latency, the anchor.
  const abort = new AbortController();
  const seen = new Map<string, number>();
  const watching = (async () => {
    try {
      for await (const ev of client.watch<Service>('services', { namespace: 'default', signal: abort.signal })) {
        if (ev.type === 'ADDED') seen.set(ev.object.metadata.name ?? '', performance.now());
      }
    } catch {
      /* aborted */
    }
  })();
  await new Promise((r) => setTimeout(r, 300)); // let the watch open before the first write

  const toResolve: number[] = [];
  const toEvent: number[] = [];
  for (let i = 0; i < CREATES; i++) {
    const name = `lat-${i}`;
    const t0 = performance.now();
    await client.create<Service>('services', { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ port: 80 }] } });
    const qname = `${name}.default.svc.cluster.local`;
    for (;;) {
      const r = await ask(dnsdPort, qname, 200);
      if (r?.answers) break;
      if (performance.now() - t0 > 10_000) throw new Error(`${qname} did not resolve within 10 s`);
    }
    toResolve.push(performance.now() - t0);
    await waitFor(() => seen.has(name), { timeoutMs: 10_000, intervalMs: 1, what: `watch event for ${name}` });
    toEvent.push(seen.get(name)! - t0);
  }
  abort.abort();
  await watching;
  console.log(`\nService create → name resolving through dnsd (${CREATES} creates, polled with UDP queries back to back), beside the apiserver's write → watch event\n`);
  console.log('| path | median ms | p99 ms |');
  console.log('| --- | --- | --- |');
  recordRow({ bench: 'dnsd', figure: 'Service create → name resolves, p99', unit: 'ms', value: quantile(toResolve, 0.99), better: 'lower', anchor: 'apiserver write → watch event, p99', anchorValue: quantile(toEvent, 0.99), runs: 1, note: `${CREATES} creates` });
  console.log(`| create → dnsd answers the name | ${fmt(quantile(toResolve, 0.5), 1)} | ${fmt(quantile(toResolve, 0.99), 1)} |`);
  console.log(`| create → watch event (anchor) | ${fmt(quantile(toEvent, 0.5), 1)} | ${fmt(quantile(toEvent, 0.99), 1)} |`);
  console.log(`| ratio | ${fmt(quantile(toResolve, 0.5) / quantile(toEvent, 0.5), 2)} | ${fmt(quantile(toResolve, 0.99) / quantile(toEvent, 0.99), 2)} |`);
  await stopChild(dnsd);
  client.close();
  await server.close();
}

await throughput();
if (ONLY !== 'metrics') await programmingLatency();
exchanger.close();
ws.cleanup();
process.exit(0);

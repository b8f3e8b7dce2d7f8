/**
 * svcproxy userspace-mode benchmark, on loopback, every path measured in the
 * same run against the same backends:
 *
 *   direct     client → backend
 *   haproxy    client → haproxy 2.6 (Debian package, `mode tcp`, 1 thread) → backend
 *   userspace  client → svcproxy's userspace proxier (its own process) → backend
 *
 *   1. Throughput: iperf3 (one stream, --time seconds) through each path.
 *   2. Short connections: connect, send one line, read the reply, close —
 *      sequentially, p50/p99 per request.
 *
 * The proxier runs with its redirect rules off (clients dial its listener), so
 * this needs no root and no namespaces.
 * Paths are measured in turn, `--rounds` times (the machine is shared: the
 * throughput shown is the mean of the rounds, latency percentiles are over
 * all rounds' requests).
 * Usage: node_modules/.bin/tsx bench/svcproxy-userspace/main.ts [--time 7] [--requests 3000] [--rounds 2]
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { run, waitFor } from '@pilot/common';
import { quantile, recordRow } from '../lib/report.js';
import { benchWorkspace } from '../lib/workspace.js';
import { freeLocalPort } from '@pilot/netns';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name}: want a positive integer, got ${process.argv[i + 1]}`);
  return v;
}

const seconds = arg('time', 7);
const requests = arg('requests', 3000);
const rounds = arg('rounds', 2);
const here = new URL('.', import.meta.url).pathname;
const tsx = new URL('../../node_modules/.bin/tsx', import.meta.url).pathname;
const ws = benchWorkspace('svcproxy-us-bench-');
const work = ws.dir;


/** Starts a child; resolves with its stdout once `ready` matches it. */
function start(argv: string[], ready: RegExp | undefined, stderr: 'inherit' | 'ignore' = 'inherit'): Promise<string> {
  const child = ws.track(spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', stderr] }));
  if (!ready) return Promise.resolve('');
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      buf += d;
      if (ready.test(buf)) resolve(buf);
    });
    child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited ${code} before it was ready`)));
  });
}

const jsonLine = (out: string) => JSON.parse(out.split('\n').find((l) => l.startsWith('{'))!) as Record<string, number>;

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function iperf(port: number): Promise<number> {
  const r = await run(['iperf3', '-c', '127.0.0.1', '-p', String(port), '-t', String(seconds), '-J'], { timeoutMs: (seconds + 20) * 1000 });
  const j = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
  return j.end.sum_received.bits_per_second / 1e9;
}

function once(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const s = connect({ host: '127.0.0.1', port, noDelay: true });
    let got = '';
    s.setEncoding('utf8');
    s.once('connect', () => s.write('GET\n'));
    s.on('data', (d: string) => (got += d));
    s.once('error', reject);
    s.once('close', () => (got === 'ok\n' ? resolve(Number(process.hrtime.bigint() - t0) / 1e3) : reject(new Error(`port ${port}: bad reply ${JSON.stringify(got)}`))));
  });
}

async function latency(port: number): Promise<number[]> {
  for (let i = 0; i < 200; i++) await once(port); // warm-up (JIT, caches)
  const us: number[] = [];
  for (let i = 0; i < requests; i++) us.push(await once(port));
  return us;
}

function percentiles(us: number[]): { p50: number; p99: number } {
  return { p50: quantile(us, 0.5), p99: quantile(us, 0.99) };
}

async function main(): Promise<void> {
  const iperfPort = await freeLocalPort();
  await start(['iperf3', '-s', '--forceflush', '-B', '127.0.0.1', '-p', String(iperfPort)], /Server listening/, 'ignore');
  const reply = jsonLine(await start([process.execPath, join(here, 'reply-server.mjs')], /\}\n/));
  const proxy = jsonLine(await start([tsx, join(here, 'proxy-child.ts'), String(iperfPort), String(reply.port)], /\}\n/));

  const [hIperf, hReply] = [await freeLocalPort(), await freeLocalPort()];
  const cfg = [
    'global',
    '  nbthread 1',
    '  maxconn 4000',
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    `frontend iperf`,
    `  bind 127.0.0.1:${hIperf}`,
    '  default_backend iperf',
    'backend iperf',
    `  server s1 127.0.0.1:${iperfPort}`,
    'frontend reply',
    `  bind 127.0.0.1:${hReply}`,
    '  default_backend reply',
    'backend reply',
    `  server s1 127.0.0.1:${reply.port}`,
    '',
  ].join('\n');
  writeFileSync(join(work, 'haproxy.cfg'), cfg);
  await start(['haproxy', '-db', '-f', join(work, 'haproxy.cfg')], undefined);
  // Only the reply frontend is probed: a bare connect through to iperf3 makes
  // it log an error. haproxy binds both frontends before serving either.
  await waitFor(() => portOpen(hReply), { timeoutMs: 10_000, what: `haproxy on 127.0.0.1:${hReply} to listen` });

  const paths = [
    { name: 'direct', iperf: iperfPort, reply: reply.port! },
    { name: 'haproxy 2.6 (1 thread)', iperf: hIperf, reply: hReply },
    { name: 'svcproxy userspace', iperf: proxy.iperf!, reply: proxy.reply! },
  ];
  const samples = paths.map(() => ({ gbps: [] as number[], us: [] as number[] }));
  for (let round = 1; round <= rounds; round++) {
    for (const [i, p] of paths.entries()) {
      samples[i]!.gbps.push(await iperf(p.iperf));
      samples[i]!.us.push(...(await latency(p.reply)));
      process.stderr.write(`round ${round}/${rounds}: measured ${p.name}\n`);
    }
  }
  const results = paths.map((p, i) => {
    const g = samples[i]!.gbps;
    return { name: p.name, gbps: g.reduce((a, b) => a + b, 0) / g.length, ...percentiles(samples[i]!.us) };
  });

  const direct = results[0]!;
  const haproxy = results[1]!;
  const fmt = (n: number, d = 1) => n.toFixed(d);
  const us = results[2]!;
  const anchor = 'haproxy 2.6 mode tcp, 1 thread';
  recordRow({ bench: 'svcproxy-userspace', figure: 'iperf3 one stream', unit: 'Gbit/s', value: us.gbps, better: 'higher', anchor, anchorValue: haproxy.gbps, runs: rounds });
  recordRow({ bench: 'svcproxy-userspace', figure: 'short connection p99', unit: 'µs', value: us.p99, better: 'lower', anchor, anchorValue: haproxy.p99, runs: rounds });
  console.log(`\nsvcproxy userspace mode, loopback: iperf3 one stream ${seconds} s, mean of ${rounds} rounds; ${requests} × ${rounds} sequential short connections\n`);
  console.log('| path | Gbit/s | ÷ direct | ÷ haproxy | p50 µs | p99 µs | p50 ÷ haproxy | p99 ÷ haproxy |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of results) {
    console.log(
      `| ${r.name} | ${fmt(r.gbps)} | ${fmt(r.gbps / direct.gbps, 2)} | ${fmt(r.gbps / haproxy.gbps, 2)} | ${fmt(r.p50, 0)} | ${fmt(r.p99, 0)} | ${fmt(r.p50 / haproxy.p50, 2)} | ${fmt(r.p99 / haproxy.p99, 2)} |`,
    );
  }
  console.log('\nThroughput ratios > 1 vs haproxy mean faster; latency ratios < 1 vs haproxy mean faster.');
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`bench/svcproxy-userspace: ${err.message}`);
    process.exit(1);
  },
);

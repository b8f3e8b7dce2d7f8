/**
 * svcproxy iptables-mode benchmark: the pure core feeding a real kernel in a
 * network namespace built with the test harness (service range 10.0.0.0/16).
 *
 *   1. Cold sync of N services × 3 endpoints: svcproxy's full sync (chunked on
 *      nf_tables, one restore on legacy, where chunks only cost) beside one
 *      monolithic `iptables-restore --noflush` of the same rules (the way
 *      kube-proxy loads them), both measured here, with the ratio.
 *   2. Endpoints change → rule in the kernel at the largest size (median/p99):
 *      svcproxy's whole partial sync (canary + jump check, one restore,
 *      conntrack) beside a raw restore of just that one KUBE-SVC chain.
 *   3. A new service at that size: svcproxy's `-I KUBE-SERVICES 1` partial
 *      restore beside rewriting the whole KUBE-SERVICES chain (why partial
 *      syncs insert rather than rewrite).
 *
 * Usage (root): node_modules/.bin/tsx bench/svcproxy/main.ts [--sizes 1000,5000] [--iterations 30] [--backend nft|legacy]
 * The monolithic nf_tables restore of 10,000 services takes ~5 minutes, so
 * 10k is opt-in: --sizes 1000,5000,10000 (or SVCPROXY_BENCH_SIZES).
 */
import { backendFor, createLogger, detectBackend, formatRule, intToIp, ipToInt, renderRestore, restore, type IptablesBackend } from '@pilot/common';
import { Cluster } from '@pilot/netns';
import { recordRow } from '../lib/report.js';
import {
  buildServiceRules,
  endpointsFromEndpoints,
  servicePortKey,
  servicePortsFromService,
  Conntrack,
  IptablesApplier,
  IptablesProxier,
  netnsRunner,
  renderFull,
  CHAIN,
  type EndpointsLike,
  type NodeConfig,
  type ServiceLike,
  type ServiceRules,
} from '@pilot/svcproxy';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  return eq?.slice(name.length + 3);
}

const sizes = (arg('sizes') ?? process.env.SVCPROXY_BENCH_SIZES ?? '1000,5000').split(',').map((s) => Number(s.trim()));
const iterations = Number(arg('iterations') ?? process.env.SVCPROXY_BENCH_ITERATIONS ?? 30);
const backendFlag = arg('backend');
if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 60_000)) throw new Error(`--sizes: want integers 1..60000, got ${sizes.join(',')}`);
if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`--iterations: want a positive integer`);

const cfg: NodeConfig = { clusterCIDR: '10.1.0.0/16', masqueradeAll: false, nodePortAddresses: [] };
const SERVICE_BASE = ipToInt('10.0.0.0') + 16;
const POD_BASE = ipToInt('10.1.0.0') + 2;

const service = (i: number): ServiceLike => ({
  metadata: { namespace: 'bench', name: `svc-${i}` },
  spec: { clusterIP: intToIp(SERVICE_BASE + i), ports: [{ name: 'http', port: 80 }] },
});
const endpoints = (i: number, generation = 0): EndpointsLike => ({
  metadata: { namespace: 'bench', name: `svc-${i}` },
  subsets: [
    {
      addresses: [0, 1, 2].map((k) => ({ ip: intToIp(POD_BASE + ((3 * i + k + generation * 7919) % 60_000)) })),
      ports: [{ name: 'http', port: 8080 }],
    },
  ],
});

/** Desired rules for services 0..n-1, through the model conversion and the pure rule builder. */
function rulesFor(n: number): ServiceRules[] {
  const out: ServiceRules[] = [];
  for (let i = 0; i < n; i++) {
    const eps = endpointsFromEndpoints(endpoints(i), undefined);
    for (const sp of servicePortsFromService(service(i))) out.push(buildServiceRules(sp, eps.get(servicePortKey(sp)) ?? [], cfg));
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

const fmt = (s: number) => (s < 1 ? `${(s * 1000).toFixed(1)} ms` : `${s.toFixed(2)} s`);

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/svcproxy needs root (network namespaces, iptables)');
  const c = await Cluster.create({ hosts: 1 });
  try {
    const host = c.hosts[0]!;
    const runner = netnsRunner(host.ns);
    const backend: IptablesBackend = backendFlag ? backendFor(backendFlag === 'legacy' ? 'legacy' : 'nft') : await detectBackend(runner);
    const applier = new IptablesApplier({ backend, runner });
    const log = createLogger('svcproxy-bench', { level: 'warn' });
    console.log(`svcproxy iptables bench: backend ${backend.mode}, namespace ${host.ns}, sizes ${sizes.join(', ')}, ${iterations} iterations`);

    // ---------------------------------------------------------- 1. cold sync
    console.log('\n## Cold sync, N services × 3 endpoints (each from an empty table)\n');
    console.log(`(svcproxy's full sync on ${backend.mode}: ${applier.fullSyncMode})\n`);
    console.log('| services | restore lines | svcproxy full sync | restores | monolithic iptables-restore (anchor) | anchor ÷ svcproxy |');
    console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const n of sizes) {
      const rules = rulesFor(n);
      const full = renderFull(rules, cfg);
      const lines = full.split('\n').length;
      await applier.cleanup();
      let restores = 0;
      const chunked = await timed(async () => {
        restores = (await applier.fullSync(rules, cfg, { nat: [], filter: [] })).restores;
      });
      await applier.cleanup();
      const mono = await timed(() => restore(backend, full, runner));
      await applier.cleanup();
      console.log(`| ${n} | ${lines} | ${fmt(chunked)} | ${restores} | ${fmt(mono)} | ${(mono / chunked).toFixed(1)}× |`);
      recordRow({ bench: 'svcproxy', figure: `cold sync, ${n} services × 3 endpoints (${backend.mode})`, unit: 'ms', value: chunked * 1000, better: 'lower', anchor: 'one monolithic iptables-restore', anchorValue: mono * 1000, runs: 1 });
    }

    // ---------------------------------------------------------- 2. endpoints change
    const n = Math.max(...sizes);
    console.log(`\n## Endpoints change → rule in the kernel, ${n} services loaded (${iterations} changes)\n`);
    const proxier = new IptablesProxier({ applier, conntrack: new Conntrack(runner, log), node: cfg, log });
    for (let i = 0; i < n; i++) {
      proxier.tracker.onService(service(i));
      proxier.tracker.onEndpoints(endpoints(i));
    }
    const load = await timed(() => proxier.sync());
    console.log(`(initial load through the proxier: ${fmt(load)})\n`);
    const syncTimes: number[] = [];
    const rawTimes: number[] = [];
    for (let k = 0; k < iterations; k++) {
      const i = Math.floor(Math.random() * n);
      const ep = endpoints(i, k + 1);
      syncTimes.push(
        await timed(async () => {
          proxier.tracker.onEndpoints(ep);
          const r = await proxier.sync();
          if (r.kind !== 'partial') throw new Error(`expected a partial sync, got ${r.kind}`);
        }),
      );
      // Anchor: a raw restore of that one KUBE-SVC chain (same content), nothing else.
      const sp = servicePortsFromService(service(i))[0]!;
      const chain = buildServiceRules(sp, endpointsFromEndpoints(ep, undefined).get(servicePortKey(sp)) ?? [], cfg).natChains[0]!;
      const text = renderRestore([{ name: 'nat', chains: [{ name: chain.name }], lines: chain.rules.map((r) => formatRule('-A', chain.name, r)) }]);
      rawTimes.push(await timed(() => restore(backend, text, runner)));
    }
    // The last change really is in the kernel.
    const last = await applier.listChain('nat', CHAIN.services);
    if (!last || last.length < n) throw new Error(`KUBE-SERVICES has ${last?.length ?? 0} rules, want ≥ ${n}`);
    console.log('| path | median | p99 | ÷ anchor (median) |');
    console.log('| --- | ---: | ---: | ---: |');
    console.log(`| raw one-chain iptables-restore (anchor) | ${fmt(pct(rawTimes, 50))} | ${fmt(pct(rawTimes, 99))} | 1 |`);
    recordRow({ bench: 'svcproxy', figure: `endpoints change → kernel, ${n} services, median`, unit: 'ms', value: pct(syncTimes, 50) * 1000, better: 'lower', anchor: 'raw one-chain iptables-restore', anchorValue: pct(rawTimes, 50) * 1000, runs: iterations });
    console.log(`| svcproxy partial sync (check + restore + conntrack) | ${fmt(pct(syncTimes, 50))} | ${fmt(pct(syncTimes, 99))} | ${(pct(syncTimes, 50) / pct(rawTimes, 50)).toFixed(1)}× |`);

    // ---------------------------------------------------------- 3. new service: -I vs rewrite
    console.log(`\n## New service with ${n} loaded: insert vs rewrite KUBE-SERVICES (${Math.min(iterations, 5)} each)\n`);
    const insertTimes: number[] = [];
    const rewriteTimes: number[] = [];
    for (let k = 0; k < Math.min(iterations, 5); k++) {
      const i = n + k;
      insertTimes.push(
        await timed(async () => {
          proxier.tracker.onService(service(i));
          proxier.tracker.onEndpoints(endpoints(i));
          await proxier.sync();
        }),
      );
      // Anchor-style alternative: the same new service, but KUBE-SERVICES declared and rewritten whole.
      const rules = rulesFor(n + k + 1);
      const extra = rules.find((r) => r.key === `bench/svc-${n + k}:http`)!;
      const services = rules.flatMap((r) => r.natServices.map((a) => formatRule('-A', CHAIN.services, a)));
      const text = renderRestore([
        {
          name: 'nat',
          chains: [{ name: CHAIN.services }, ...extra.natChains.map((ch) => ({ name: ch.name }))],
          lines: [...extra.natChains.flatMap((ch) => ch.rules.map((r) => formatRule('-A', ch.name, r))), ...services, formatRule('-A', CHAIN.services, ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', CHAIN.nodePorts])],
        },
      ]);
      rewriteTimes.push(await timed(() => restore(backend, text, runner)));
      // Put the proxier's view of KUBE-SERVICES back (the rewrite reordered it).
      proxier.forceFullSync();
      await proxier.sync();
    }
    console.log('| path | median | p99 |');
    console.log('| --- | ---: | ---: |');
    console.log(`| svcproxy partial sync, -I KUBE-SERVICES 1 | ${fmt(pct(insertTimes, 50))} | ${fmt(pct(insertTimes, 99))} |`);
    console.log(`| rewrite whole KUBE-SERVICES + new chains | ${fmt(pct(rewriteTimes, 50))} | ${fmt(pct(rewriteTimes, 99))} |`);
    await applier.cleanup();
  } finally {
    await c.teardown();
  }
}

await main();

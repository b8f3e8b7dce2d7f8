/**
 * bench/apiserver: what the apiserver costs over the etcd it stores into,
 * each figure beside its anchor measured in the same run.
 *
 *  1. Pod creates/s for 10k pods (32 concurrent clients) beside raw etcd
 *     create transactions of the same JSON at the same concurrency.
 *  2. List latency at 10k pods (one namespace, full list) beside an etcd
 *     range read of the same prefix.
 *  3. Watch delivery latency, write → event, with 100 HTTP watchers
 *     (median/p99 over every watcher × write) beside etcd's own put → watch
 *     latency with 100 etcd watchers of the same prefix.
 *  4. Memory: the apiserver's PSS idle, with 10k pods, and after 200 more
 *     watches have come and gone, beside etcd's PSS holding the same data.
 *     BENCH_HEAP_SNAPSHOT=<dir> also writes a heap snapshot at the end and
 *     prints what its bytes are (by constructor).
 *  5. Authorization cost: GET latency and creates/s over TLS as an RBAC-bound
 *     user, `--authorization-mode Node,RBAC` beside `AlwaysAllow` (authz.ts).
 *
 * Run: node_modules/.bin/tsx bench/apiserver/main.ts   (root; builds its own netns cluster with etcd)
 * Env: BENCH_PODS (default 10000), BENCH_WATCHERS (default 100), BENCH_WRITES (default 200), BENCH_AUTHZ_GETS (default 2000).
 */
import { setMaxListeners } from 'node:events';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import type { WatchEvent } from '@pilot/api';
import { waitFor } from '@pilot/common';
import { Cluster } from '@pilot/netns';
import { fmt, median, quantile, recordRow, table } from '../lib/report.js';
import { pool } from '../lib/pool.js';
import { summariseHeapSnapshot } from '../lib/heap-snapshot.js';
import { pssKiB } from '../lib/procfs.js';
import { startApiserver } from '../lib/process.js';
import { authzRows, measureAuthorization, recordAuthz } from './authz.js';

const PODS = Number(process.env.BENCH_PODS ?? 10_000);
const WATCHERS = Number(process.env.BENCH_WATCHERS ?? 100);
const WRITES = Number(process.env.BENCH_WRITES ?? 200);
const CONCURRENCY = 32;
const HEAP_DIR = process.env.BENCH_HEAP_SNAPSHOT;
const MEMORY_WATCHES = 200;
const AUTHZ_GETS = Number(process.env.BENCH_AUTHZ_GETS ?? 2000);

const podJson = (name: string, ns: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns, labels: { app: 'bench' } },
  spec: { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }] },
});

async function main(): Promise<void> {
  const c = await Cluster.create({ hosts: 0, etcd: true });
  const etcd = new Etcd3({ hosts: c.etcd!.endpoint });
  const api = await startApiserver(c, ['--service-cluster-ip-range', '10.0.0.0/16'], HEAP_DIR ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${HEAP_DIR}`] : []);
  const { child, client } = api;
  const registeredWatchers = async () => Number((await (await fetch(`${api.server}/metrics`)).text()).match(/apiserver_registered_watchers\{resource="pods"\} (\d+)/)?.[1] ?? '0');
  const memory: [string, number, number][] = [];
  const sampleMemory = (when: string) => memory.push([when, pssKiB(child.pid!), pssKiB(c.etcd!.pid!)]);
  try {
    await api.ready();
    for (const ns of ['bench', 'lat']) await client.create('namespaces', { metadata: { name: ns } });
    sampleMemory('idle (bootstrap objects only)');

    // ---- 1. creates/s
    let t = performance.now();
    await pool(PODS, CONCURRENCY, async (i) => {
      await client.create('pods', podJson(`p-${i}`, 'bench'), { namespace: 'bench' });
    });
    const apiCreates = PODS / ((performance.now() - t) / 1000);
    const body = JSON.stringify(podJson('x', 'anchor'));
    t = performance.now();
    await pool(PODS, CONCURRENCY, async (i) => {
      const key = `/anchor/pods/anchor/p-${i}`;
      await etcd.if(key, 'Version', '==', 0).then(etcd.put(key).value(body)).commit();
    });
    const etcdCreates = PODS / ((performance.now() - t) / 1000);

    // ---- 2. list latency at 10k pods
    const apiList: number[] = [];
    const etcdList: number[] = [];
    for (let i = 0; i < 5; i++) {
      t = performance.now();
      const l = await client.list('pods', { namespace: 'bench' });
      apiList.push(performance.now() - t);
      if (l.items.length !== PODS) throw new Error(`list returned ${l.items.length} pods, want ${PODS}`);
      t = performance.now();
      const kvs = await etcd.getAll().prefix('/anchor/pods/anchor/').buffers();
      etcdList.push(performance.now() - t);
      if (Object.keys(kvs).length !== PODS) throw new Error(`etcd range returned ${Object.keys(kvs).length} keys`);
    }

    sampleMemory(`${PODS} pods stored, after 5 full lists`);

    // ---- 3. watch delivery latency
    await client.create('pods', podJson('w', 'lat'), { namespace: 'lat' });
    const sentAt = new Map<number, number>();
    const apiLat: number[] = [];
    const ac = new AbortController();
    setMaxListeners(WATCHERS + 10, ac.signal);
    let opened = 0;
    const watchers = Array.from({ length: WATCHERS }, async () => {
      const gen = client.watch('pods', { namespace: 'lat', signal: ac.signal, resourceVersion: (await client.list('pods', { namespace: 'lat' })).metadata.resourceVersion! });
      opened++;
      let seen = 0;
      for await (const ev of gen as AsyncGenerator<WatchEvent>) {
        const seq = Number(ev.object.metadata.labels?.seq);
        const at = sentAt.get(seq);
        if (at !== undefined) apiLat.push(performance.now() - at);
        if (++seen >= WRITES) break;
      }
    });
    await waitFor(() => opened === WATCHERS, { what: 'watchers to open', timeoutMs: 30_000 });
    // Let every stream register server-side before measuring.
    await waitFor(async () => (await registeredWatchers()) === WATCHERS, { what: 'watchers to register', timeoutMs: 30_000 });
    for (let i = 0; i < WRITES; i++) {
      sentAt.set(i, performance.now());
      await client.patch('pods', 'w', { metadata: { labels: { seq: String(i) } } }, 'merge', { namespace: 'lat' });
    }
    await Promise.race([Promise.all(watchers), new Promise((r) => setTimeout(r, 30_000))]);
    ac.abort();

    const etcdAt = new Map<number, number>();
    const etcdLat: number[] = [];
    const ews = await Promise.all(Array.from({ length: WATCHERS }, () => etcd.watch().prefix('/anchor/lat/').create()));
    for (const w of ews) w.on('put', (kv) => {
      const at = etcdAt.get(Number(kv.value.toString()));
      if (at !== undefined) etcdLat.push(performance.now() - at);
    });
    for (let i = 0; i < WRITES; i++) {
      etcdAt.set(i, performance.now());
      await etcd.put('/anchor/lat/w').value(String(i));
    }
    await waitFor(() => etcdLat.length >= WATCHERS * WRITES, { what: 'etcd watch events', timeoutMs: 30_000 }).catch(() => undefined);
    await Promise.all(ews.map((w) => w.cancel()));

    // ---- 4. memory after watches come and go: each opens from the list's revision, then all end.
    await waitFor(async () => (await registeredWatchers()) === 0, { what: 'the latency watchers to end', timeoutMs: 30_000 });
    const mc = new AbortController();
    setMaxListeners(MEMORY_WATCHES + 10, mc.signal);
    const rv = (await client.list('pods', { namespace: 'bench', limit: 1 })).metadata.resourceVersion!;
    const ended = Array.from({ length: MEMORY_WATCHES }, async () => {
      try {
        for await (const ev of client.watch('pods', { namespace: 'bench', resourceVersion: rv, signal: mc.signal })) void ev;
      } catch {
        /* aborted */
      }
    });
    await waitFor(async () => (await registeredWatchers()) === MEMORY_WATCHES, { what: `${MEMORY_WATCHES} watches to register`, timeoutMs: 30_000 });
    mc.abort();
    await Promise.all(ended);
    await waitFor(async () => (await registeredWatchers()) === 0, { what: `${MEMORY_WATCHES} watches to end server-side`, timeoutMs: 30_000 });
    sampleMemory(`after ${MEMORY_WATCHES} watches came and went`);

    const anchor = 'etcd, same data';
    recordRow({ bench: 'apiserver', figure: `pod creates, ${CONCURRENCY} writers`, unit: '/s', value: apiCreates, better: 'higher', anchor, anchorValue: etcdCreates, runs: 1 });
    recordRow({ bench: 'apiserver', figure: `list ${PODS} pods, median`, unit: 'ms', value: median(apiList), better: 'lower', anchor, anchorValue: median(etcdList), runs: 1 });
    recordRow({ bench: 'apiserver', figure: `watch delivery p99, ${WATCHERS} watchers`, unit: 'ms', value: quantile(apiLat, 0.99), better: 'lower', anchor: `etcd watch, ${WATCHERS} watchers`, anchorValue: quantile(etcdLat, 0.99), runs: 1 });
    const [, withPods, withPodsEtcd] = memory.find(([when]) => when.includes('pods')) ?? memory[memory.length - 1]!;
    recordRow({ bench: 'apiserver', figure: `PSS with ${PODS} pods`, unit: 'MiB', value: withPods / 1024, better: 'lower', anchor: 'etcd PSS, same data', anchorValue: withPodsEtcd / 1024, runs: 1 });
    table(`apiserver vs etcd (${PODS} pods, ${CONCURRENCY} concurrent writers)`, ['measure', 'apiserver', 'etcd anchor', 'ratio'], [
      ['pod creates/s', fmt(apiCreates, 0), fmt(etcdCreates, 0), `${fmt(apiCreates / etcdCreates, 2)}x`],
      [`list ${PODS} pods, median ms`, fmt(median(apiList)), fmt(median(etcdList)), `${fmt(median(apiList) / median(etcdList), 1)}x`],
    ]);
    table(`watch delivery, write → event, ${WATCHERS} watchers × ${WRITES} writes (samples: api ${apiLat.length}, etcd ${etcdLat.length})`, ['measure', 'apiserver', 'etcd anchor', 'ratio'], [
      ['median ms', fmt(median(apiLat), 2), fmt(median(etcdLat), 2), `${fmt(median(apiLat) / median(etcdLat), 1)}x`],
      ['p99 ms', fmt(quantile(apiLat, 0.99), 2), fmt(quantile(etcdLat, 0.99), 2), `${fmt(quantile(apiLat, 0.99) / quantile(etcdLat, 0.99), 1)}x`],
    ]);
    const mib = (kib: number) => fmt(kib / 1024, 1);
    table('memory, PSS (MiB)', ['when', 'apiserver', 'etcd anchor (same data)', 'ratio'], memory.map(([when, a, e]) => [when, mib(a), mib(e), `${fmt(a / e, 2)}x`]));

    if (HEAP_DIR) {
      const snapshot = await takeHeapSnapshot(child.pid!, HEAP_DIR, api.server);
      console.log(`\nheap snapshot ${snapshot}: self size by constructor, largest first`);
      for (const row of summariseHeapSnapshot(snapshot, 12)) console.log(`  ${row.share.padStart(6)}  ${row.mib.padStart(8)} MiB  ${row.count.toString().padStart(9)} × ${row.what}`);
    }

    // ---- 5. authorization cost (after the rest: its apiservers start once this one's load is done)
    const authz = await measureAuthorization(c, { gets: AUTHZ_GETS, creates: Math.min(PODS, 2000), concurrency: CONCURRENCY });
    recordAuthz(authz);
    table(`authorization, TLS + token as a user bound to edit (${AUTHZ_GETS} sequential GETs, ${Math.min(PODS, 2000)} creates at ${CONCURRENCY} concurrent)`, ['measure', 'Node,RBAC', 'AlwaysAllow anchor', 'ratio', 'goal'], authzRows(authz));
  } finally {
    client.close();
    etcd.close();
    child.kill('SIGTERM');
    await c.teardown();
  }
}


/**
 * SIGUSR2 makes the apiserver (started with --heapsnapshot-signal) write a
 * snapshot while its event loop is blocked, so a request answered after the
 * file appears means the file is whole.
 */
async function takeHeapSnapshot(pid: number, dir: string, server: string): Promise<string> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  const file = await waitFor(() => readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f)), { what: 'the heap snapshot file', timeoutMs: 120_000 });
  await waitFor(async () => (await fetch(`${server}/healthz`)).ok, { what: 'the apiserver to answer after the snapshot', timeoutMs: 300_000 });
  return join(dir, file);
}

await main();

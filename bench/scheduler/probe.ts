import { spawn } from 'node:child_process';
import { ApiClient } from '@pilot/api';
import { waitFor } from '@pilot/common';
import { Cluster, freeLocalPort, PILOT_BIN as PILOT } from '@pilot/netns';
const c = await Cluster.create({ hosts: 0, etcd: true });
const port = await freeLocalPort();
const api = spawn(process.execPath, ['--cpu-prof', '--cpu-prof-dir=/tmp/prof', PILOT, 'apiserver', '--etcd-servers', c.etcd!.endpoint, '--insecure-port', String(port), '--etcd-compaction-interval', '0'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, PILOT_LOG_LEVEL: 'warn' } });
const client = new ApiClient({ server: `http://127.0.0.1:${port}` });
async function pool(n: number, limit: number, job: (i: number) => Promise<void>) { let next = 0; await Promise.all(Array.from({ length: limit }, async () => { while (next < n) await job(next++); })); }
try {
  await waitFor(async () => (await client.list('namespaces')).items.length >= 3, { timeoutMs: 30000 });
  await client.create('nodes', { metadata: { name: 'n0' } });
  for (const conc of [1, 16, 256]) {
    const ns = `x${conc}`;
    await client.create('namespaces', { metadata: { name: ns } });
    let t = performance.now();
    await pool(500, 64, async (i) => { await client.create('pods', { metadata: { name: `p-${i}`, namespace: ns }, spec: { containers: [{ name: 'c', image: 'x' }] } }, { namespace: ns }); });
    const cr = 500 / ((performance.now() - t) / 1000);
    t = performance.now();
    await pool(500, conc, async (i) => { await client.bind(ns, `p-${i}`, 'n0'); });
    console.log(`conc ${conc}: creates ${cr.toFixed(0)}/s, binds ${(500 / ((performance.now() - t) / 1000)).toFixed(0)}/s`);
  }
} finally { client.close(); api.kill('SIGINT'); await new Promise((r) => setTimeout(r, 2000)); await c.teardown(); }

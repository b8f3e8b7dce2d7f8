import { spawn, type ChildProcess } from 'node:child_process';
import { ApiClient } from '@pilot/api';
import { waitFor } from '@pilot/common';
import { freeLocalPort, PILOT_BIN, type Cluster } from '@pilot/netns';

/**
 * The processes benches start, in one place: `pilot apiserver` on loopback
 * as its own process (so the bench's client load does not share its event
 * loop), and stopping a child and waiting for it. What benches read of a
 * process from /proc is procfs.ts's.
 */

export interface BenchApiserver {
  child: ChildProcess;
  /** http://127.0.0.1:<port> */
  server: string;
  client: ApiClient;
  /** Resolves once it serves its bootstrap namespaces. */
  ready(): Promise<void>;
}

/**
 * Spawns `pilot apiserver` over the run's etcd (remembered by the cluster, so
 * teardown kills it); `extra` are more flags, `nodeArgs` go to node itself.
 */
export async function startApiserver(c: Cluster, extra: readonly string[] = [], nodeArgs: readonly string[] = []): Promise<BenchApiserver> {
  const port = await freeLocalPort();
  const child = spawn(process.execPath, [...nodeArgs, PILOT_BIN, 'apiserver', '--etcd-servers', c.etcd!.endpoint, '--insecure-port', String(port), '--etcd-compaction-interval', '0', ...extra], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, PILOT_LOG_LEVEL: 'warn' },
  });
  if (child.pid) c.rememberPid(child.pid);
  const server = `http://127.0.0.1:${port}`;
  const client = new ApiClient({ server });
  return {
    child,
    server,
    client,
    ready: () => waitFor(async () => (await client.list('namespaces')).items.length >= 3, { what: 'the apiserver to serve', timeoutMs: 30_000 }).then(() => undefined),
  };
}

/** Signals a child (SIGTERM unless told) and waits for it to exit; an exited one is left alone. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  await done;
}

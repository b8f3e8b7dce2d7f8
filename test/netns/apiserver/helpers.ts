import { createServer } from 'node:net';
import { ApiClient, type Pod } from '@pilot/api';
import { createLogger } from '@pilot/common';
import { resolveConfig, startApiserver, type ApiServer, type RawFlags } from '@pilot/orchestrator-core';
import type { Cluster } from '@pilot/netns';

/** A port nothing in the root namespace listens on (the kernel picks it). */
export async function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface InProcess {
  server: ApiServer;
  url: string;
  client: ApiClient;
}

/**
 * An apiserver inside the test process, plain HTTP on 127.0.0.1, over the
 * harness's real etcd. Each call uses its own etcd prefix so suites sharing
 * one etcd never see each other's objects.
 */
export async function startInProcess(c: Cluster, flags: RawFlags = {}): Promise<InProcess> {
  const port = await freeLocalPort();
  const cfg = resolveConfig({
    etcdServers: c.etcd!.endpoint,
    insecurePort: String(port),
    etcdCompactionInterval: '0',
    ...flags,
  });
  const server = await startApiserver(cfg, { log: createLogger('apiserver', { level: 'warn' }) });
  const url = server.insecureUrl!;
  return { server, url, client: new ApiClient({ server: url }) };
}

export interface RawReply {
  status: number;
  body: any;
}

/** A raw HTTP request (for status codes and headers the client hides). */
export async function raw(url: string, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<RawReply> {
  const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed };
}

export const pod = (name: string, labels: Record<string, string> = {}, extra: Record<string, unknown> = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...extra },
});

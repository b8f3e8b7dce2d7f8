import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import type { Server, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { kubeletServingCert, type Cluster, type ControlPlane, type Host, type Pki } from '@pilot/netns';

/**
 * Test helpers for the kubectl e2e (local to this folder; the shared harness
 * in test/netns/src is not touched):
 *
 * - `Kubectl`: the real kubectl run in a host (or the master) namespace with
 *   its own kubeconfig and --cache-dir;
 * - `FakeKubelet`: the two kubelet endpoints the apiserver proxies to,
 *   `/containerLogs/{ns}/{pod}/{ctr}` (with follow) and `/exec/{ns}/{pod}/{ctr}`
 *   over websocket `v5.channel.k8s.io`, served as a kubelet serves them: TLS
 *   with a serving certificate from the run's PKI, and only to a client
 *   certificate from the kubelet client CA (the apiserver's).
 *   exec really runs the command (in the test process's namespace), so stdin,
 *   stdout, stderr and the exit code travel the whole way.
 */

export interface KubectlResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export class Kubectl {
  constructor(
    readonly host: Host,
    readonly kubeconfig: string,
    readonly cacheDir: string,
    readonly namespace: string,
  ) {}

  /** The run's admin kubectl, run in the master namespace, its cache under the run's state dir. */
  static forRun(c: Cluster, cp: ControlPlane, namespace: string): Kubectl {
    const dir = `${c.stateDir}/kubectl`;
    mkdirSync(dir, { recursive: true });
    return new Kubectl(c.master, cp.kubeconfigFor(), `${dir}/cache`, namespace);
  }

  /** Runs kubectl in the namespace of the suite (unless args say otherwise); never throws. */
  async run(args: readonly string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<KubectlResult> {
    const argv = ['kubectl', '--kubeconfig', this.kubeconfig, '--cache-dir', this.cacheDir, '-n', this.namespace, ...args];
    const r = await this.host.exec(argv, { timeoutMs: opts.timeoutMs ?? 60_000, ...(opts.input !== undefined ? { input: opts.input } : {}), ...(opts.env ? { env: opts.env } : {}) });
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? -1 };
  }

  /** Runs kubectl and returns stdout; a non-zero exit is an error with kubectl's stderr. */
  async ok(args: readonly string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<string> {
    const r = await this.run(args, opts);
    if (r.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.exitCode}: ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  }

  /** Runs kubectl expecting failure; returns stderr. */
  async fails(args: readonly string[], opts: { input?: string } = {}): Promise<string> {
    const r = await this.run(args, opts);
    if (r.exitCode === 0) throw new Error(`kubectl ${args.join(' ')} succeeded but should have failed: ${r.stdout.trim()}`);
    return r.stderr;
  }

  /** argv for a long-running kubectl (get -w, logs -f) started with host.spawn. */
  argv(args: readonly string[]): string[] {
    return ['kubectl', '--kubeconfig', this.kubeconfig, '--cache-dir', this.cacheDir, '-n', this.namespace, ...args];
  }
}

/** Splits kubectl table output into rows of cells (header first). */
export function tableRows(text: string): string[][] {
  return text
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.trim().split(/\s{2,}/));
}

const V5 = 'v5.channel.k8s.io';
const CH_STDIN = 0;
const CH_STDOUT = 1;
const CH_STDERR = 2;
const CH_ERROR = 3;
const CH_CLOSE = 255;

export class FakeKubelet {
  /** Every request path (with query) the kubelet saw, in order. */
  readonly requests: string[] = [];
  private readonly logs = new Map<string, string[]>();
  private readonly followers = new Map<string, Set<ServerResponse>>();
  private readonly sockets = new Set<WebSocket>();
  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    readonly host: string,
    readonly port: number,
  ) {}

  static async start(host: string, pki: Pki): Promise<FakeKubelet> {
    const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => (protocols.has(V5) ? V5 : false) });
    const serving = await kubeletServingCert(pki, 'fake-kubelet', host);
    const server = createServer({ cert: readFileSync(serving.certFile), key: readFileSync(serving.keyFile), ca: readFileSync(pki.kubeletClientCaFile), requestCert: true, rejectUnauthorized: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
    const k = new FakeKubelet(server, wss, host, (server.address() as AddressInfo).port);
    server.on('request', (req, res) => k.onRequest(req.url ?? '/', res));
    server.on('upgrade', (req, socket, head) => {
      k.requests.push(req.url ?? '/');
      const url = new URL(req.url ?? '/', 'http://kubelet');
      if (!url.pathname.startsWith('/exec/')) return void socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      wss.handleUpgrade(req, socket, head, (ws) => k.onExec(ws, url));
    });
    return k;
  }

  /** Log lines a container has written so far; followers get each new one. */
  appendLog(ns: string, pod: string, container: string, ...lines: string[]): void {
    const key = `${ns}/${pod}/${container}`;
    const list = this.logs.get(key) ?? [];
    list.push(...lines);
    this.logs.set(key, list);
    for (const res of this.followers.get(key) ?? []) res.write(lines.map((l) => `${l}\n`).join(''));
  }

  private onRequest(path: string, res: ServerResponse): void {
    this.requests.push(path);
    const url = new URL(path, 'http://kubelet');
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (!m) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    const key = m.slice(1, 4).map(decodeURIComponent).join('/');
    const lines = this.logs.get(key) ?? [];
    const tail = url.searchParams.get('tailLines');
    const shown = tail !== null ? lines.slice(Math.max(0, lines.length - Number(tail))) : lines;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write(shown.map((l) => `${l}\n`).join(''));
    if (url.searchParams.get('follow') !== 'true') return void res.end();
    const set = this.followers.get(key) ?? new Set();
    set.add(res);
    this.followers.set(key, set);
    res.on('close', () => set.delete(res));
  }

  /** One exec session: the command runs for real; frames carry a channel byte first (v5). */
  private onExec(ws: WebSocket, url: URL): void {
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    const command = url.searchParams.getAll('command');
    const send = (ch: number, data: Buffer | string) => {
      if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([ch]), Buffer.from(data)]));
    };
    const child = spawn(command[0] ?? 'true', command.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.on('error', () => undefined);
    child.stdout.on('data', (d: Buffer) => send(CH_STDOUT, d));
    child.stderr.on('data', (d: Buffer) => send(CH_STDERR, d));
    if (url.searchParams.get('stdin') !== 'true') child.stdin.end();
    ws.on('message', (data: Buffer) => {
      const ch = data[0];
      if (ch === CH_STDIN) child.stdin.write(data.subarray(1));
      else if (ch === CH_CLOSE && data[1] === CH_STDIN) child.stdin.end();
    });
    ws.on('close', () => child.kill());
    const finish = (code: number | null, err?: Error) => {
      const status = err
        ? { metadata: {}, status: 'Failure', message: err.message, reason: 'InternalError' }
        : code === 0
          ? { metadata: {}, status: 'Success' }
          : {
              metadata: {},
              status: 'Failure',
              message: `command terminated with non-zero exit code: exit status ${code}`,
              reason: 'NonZeroExitCode',
              details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
            };
      send(CH_ERROR, JSON.stringify(status));
      ws.close(1000);
    };
    child.once('error', (err) => finish(null, err));
    child.once('close', (code) => finish(code));
  }

  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    for (const set of this.followers.values()) for (const res of set) res.end();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

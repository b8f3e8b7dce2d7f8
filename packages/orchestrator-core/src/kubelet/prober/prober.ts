import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { Container as ApiContainer, Probe } from '@pilot/api';
import type { ContainerRuntime } from '../runtime/runtime.js';

/**
 * One probe, once (pkg/kubelet/prober/prober.go and pkg/probe/{exec,http,tcp}):
 * exec runs the command in the container (exit 0 = success); httpGet asks
 * the pod IP (or `host`) for the path (2xx and 3xx = success); tcpSocket
 * opens a connection. Each is bounded by timeoutSeconds. The result's
 * output is what `kubectl describe` shows in the Unhealthy event.
 */

export type ProbeType = 'liveness' | 'readiness' | 'startup';

export interface ProbeResult {
  ok: boolean;
  output: string;
}

/** Upstream's User-Agent of HTTP probes (kube-probe/<major>.<minor>). */
export const PROBE_USER_AGENT = 'kube-probe/1.32';

/** A port by number or by the name of one of the container's ports; undefined when the name is unknown. */
export function resolvePort(port: number | string, c: ApiContainer): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

export function probeHttp(url: string, headers: Record<string, string>, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = (url.startsWith('https:') ? httpsRequest : request)(url, { method: 'GET', headers: { 'User-Agent': PROBE_USER_AGENT, Accept: '*/*', ...headers }, timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (d: Buffer) => {
        // Upstream reads at most 10 KiB of the body.
        if (size < 10_240) chunks.push(d);
        size += d.length;
      });
      res.on('end', () => {
        const code = res.statusCode ?? 0;
        const body = Buffer.concat(chunks).toString('utf8').slice(0, 10_240);
        resolve(code >= 200 && code < 400 ? { ok: true, output: body } : { ok: false, output: `HTTP probe failed with statuscode: ${code}` });
      });
      res.on('error', (err) => resolve({ ok: false, output: `Get "${url}": ${err.message}` }));
    });
    req.on('timeout', () => req.destroy(new Error(`context deadline exceeded (Client.Timeout exceeded while awaiting headers)`)));
    req.on('error', (err) => resolve({ ok: false, output: `Get "${url}": ${err.message}` }));
    req.end();
  });
}

export function probeTcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: timeoutMs });
    s.once('connect', () => {
      s.destroy();
      resolve({ ok: true, output: '' });
    });
    s.once('timeout', () => {
      s.destroy();
      resolve({ ok: false, output: `dial tcp ${host}:${port}: i/o timeout` });
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, output: `dial tcp ${host}:${port}: connect: ${err.code === 'ECONNREFUSED' ? 'connection refused' : err.message}` }));
  });
}

export async function probeExec(runtime: Pick<ContainerRuntime, 'execSync'>, containerId: string, cmd: string[], timeoutMs: number): Promise<ProbeResult> {
  try {
    const r = await runtime.execSync(containerId, cmd, timeoutMs);
    const output = Buffer.concat([r.stdout, r.stderr]).toString('utf8');
    return r.exitCode === 0 ? { ok: true, output } : { ok: false, output: output || `command ${JSON.stringify(cmd.join(' '))} exited with ${r.exitCode}` };
  } catch (err) {
    const msg = (err as Error).message;
    return { ok: false, output: /timed out/.test(msg) ? `command "${cmd.join(' ')}" timed out` : msg };
  }
}

/** Runs the probe against a running container of the pod at podIp. */
export async function runProbe(runtime: Pick<ContainerRuntime, 'execSync'>, probe: Probe, c: ApiContainer, containerId: string, podIp: string | undefined): Promise<ProbeResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.exec) return probeExec(runtime, containerId, probe.exec.command ?? [], timeoutMs);
  if (probe.httpGet) {
    const g = probe.httpGet;
    const port = resolvePort(g.port, c);
    if (port === undefined) return { ok: false, output: `unknown port name "${g.port}"` };
    const host = g.host || podIp;
    if (!host) return { ok: false, output: 'the pod has no IP yet' };
    const scheme = (g.scheme ?? 'HTTP').toLowerCase();
    const path = g.path ?? '/';
    const headers = Object.fromEntries((g.httpHeaders ?? []).map((h) => [h.name, h.value]));
    return probeHttp(`${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${path.startsWith('/') ? path : `/${path}`}`, headers, timeoutMs);
  }
  if (probe.tcpSocket) {
    const port = resolvePort(probe.tcpSocket.port, c);
    if (port === undefined) return { ok: false, output: `unknown port name "${probe.tcpSocket.port}"` };
    const host = probe.tcpSocket.host || podIp;
    if (!host) return { ok: false, output: 'the pod has no IP yet' };
    return probeTcp(host, port, timeoutMs);
  }
  return { ok: false, output: 'probe has no handler (exec, httpGet or tcpSocket)' };
}

import { resourceByName, type Node, type Pod } from '@pilot/api';
import { badRequest, serviceUnavailable, StatusError } from '../status.js';
import type { StrategyContext } from './strategy.js';
import type { ConnectSubresource, ConnectTarget, SubresourceCall } from './subresources.js';

/**
 * Where the pod subresources the kubelet serves go (kube-apiserver's
 * LogLocation / ExecLocation in pod `strategy.go`): the kubelet of the pod's
 * node, at the Node's InternalIP and `status.daemonEndpoints.kubeletEndpoint.Port`.
 * With no such address (pod not scheduled, node unknown, no kubelet
 * registered) the answer is a clear 503, never a hang. The HTTP layer
 * proxies there (http/kubelet-proxy.ts).
 *
 * One row per kubelet endpoint, and a `kubeletConnect(...)` row in pods.ts.
 */

interface KubeletEndpoint {
  /** First path segment on the kubelet. */
  base: string;
  /** Whether the path names a container (`/<base>/<ns>/<pod>/<container>`). */
  container: boolean;
  /** Query parameters passed on (the rest, such as `container`, are the apiserver's). */
  params: readonly string[];
  /** How the 503 names what is unavailable. */
  what: string;
}

export const KUBELET_ENDPOINTS = {
  log: { base: 'containerLogs', container: true, params: ['follow', 'previous', 'timestamps', 'sinceSeconds', 'sinceTime', 'tailLines', 'limitBytes'], what: 'logs' },
  exec: { base: 'exec', container: true, params: ['command', 'stdin', 'stdout', 'stderr', 'tty'], what: 'exec' },
  attach: { base: 'attach', container: true, params: ['stdin', 'stdout', 'stderr', 'tty'], what: 'attach' },
  portforward: { base: 'portForward', container: false, params: ['ports'], what: 'port-forward' },
} as const satisfies Record<string, KubeletEndpoint>;

export type KubeletSubresource = keyof typeof KUBELET_ENDPOINTS;

/** Which container a request means: the named one, or the pod's only one (pure). */
export function containerFor(pod: Pod, requested: string | null): string {
  const names = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c) => c.name);
  const podName = pod.metadata.name!;
  if (requested) {
    if (!names.includes(requested)) throw badRequest(`container ${requested} is not valid for pod ${podName}`);
    return requested;
  }
  const main = (pod.spec?.containers ?? []).map((c) => c.name);
  if (main.length === 1) return main[0]!;
  throw badRequest(`a container name must be specified for pod ${podName}, choose one of: [${main.join(' ')}]`);
}

/** The kubelet endpoint of a node, or a one-line reason why there is none (pure). */
export function kubeletEndpoint(node: Node): { host: string; port: number } | string {
  const ip = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  if (!ip) return `node "${node.metadata.name}" has no InternalIP address`;
  if (!port) return `node "${node.metadata.name}" has no kubelet endpoint (status.daemonEndpoints.kubeletEndpoint.Port)`;
  return { host: ip, port };
}

/** The kubelet path for a pod subresource request (pure). */
export function kubeletPath(sub: KubeletSubresource, ns: string, pod: string, container: string | undefined, q: URLSearchParams): string {
  const ep: KubeletEndpoint = KUBELET_ENDPOINTS[sub];
  const out = new URLSearchParams();
  for (const [k, v] of q) if (ep.params.includes(k)) out.append(k, v);
  const qs = out.toString();
  const segs = [ep.base, ns, pod, ...(ep.container && container !== undefined ? [container] : [])].map(encodeURIComponent);
  return `/${segs.join('/')}${qs ? `?${qs}` : ''}`;
}

/** Where the kubelet serves `sub` for this pod; a StatusError (404, 400, 503) otherwise. */
export async function locateOnKubelet(sub: KubeletSubresource, call: SubresourceCall, ctx: StrategyContext): Promise<ConnectTarget> {
  const ep: KubeletEndpoint = KUBELET_ENDPOINTS[sub];
  const ns = call.namespace!;
  const pod = (await ctx.objects.get(call.resource, ns, call.name)) as Pod;
  const container = ep.container ? containerFor(pod, call.query.get('container')) : undefined;
  const nodeName = pod.spec?.nodeName;
  if (!nodeName) throw serviceUnavailable(`${ep.what} for pod "${call.name}" are not available: the pod is not scheduled to a node yet, so no kubelet serves it`);
  let node: Node;
  try {
    node = (await ctx.objects.get(resourceByName('nodes')!, undefined, nodeName)) as Node;
  } catch (err) {
    if (err instanceof StatusError && err.code === 404) throw serviceUnavailable(`${ep.what} for pod "${call.name}" are not available: its node "${nodeName}" is not registered, so no kubelet serves it`);
    throw err;
  }
  const at = kubeletEndpoint(node);
  if (typeof at === 'string') throw serviceUnavailable(`${ep.what} for pod "${call.name}" are not available: ${at}`);
  return {
    ...at,
    path: kubeletPath(sub, ns, call.name, container, call.query),
    unreachable: `${ep.what} for pod "${call.name}" are not available: the kubelet at ${at.host}:${at.port} cannot be reached`,
  };
}

/** A pod subresource the kubelet serves: plain streamed GET (log) or an upgrade spliced through (exec, attach, portforward). */
export function kubeletConnect(sub: KubeletSubresource, methods: readonly string[], upgrade: boolean): ConnectSubresource {
  return { methods, upgrade, locate: (call, ctx) => locateOnKubelet(sub, call, ctx) };
}

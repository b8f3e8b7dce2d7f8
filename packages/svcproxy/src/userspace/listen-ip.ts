import { isIPv4, run, type Runner } from '@pilot/common';

/**
 * The address the userspace proxy binds to when none is given: the source
 * address the host uses for its default route (what `ip route get` reports as
 * `prefsrc`), i.e. the node IP other hosts reach it on. Loopback would not do:
 * DNAT of the host's own traffic to 127.0.0.1 needs route_localnet.
 */
export class ListenIPError extends Error {
  constructor(message: string) {
    super(`userspace proxy listen address: ${message}; pass --bind-address`);
    this.name = 'ListenIPError';
  }
}

/** Parses `ip -j -4 route get <addr>` output. */
export function prefsrcFromRouteGet(json: string): string {
  let routes: { prefsrc?: string; dev?: string }[];
  try {
    routes = JSON.parse(json) as { prefsrc?: string; dev?: string }[];
  } catch {
    throw new ListenIPError(`cannot parse "ip route get" output: ${json.slice(0, 80)}`);
  }
  const src = routes[0]?.prefsrc;
  if (!src || !isIPv4(src)) throw new ListenIPError(`no source address on the default route${routes[0]?.dev ? ` (dev ${routes[0].dev})` : ''}`);
  if (src.startsWith('127.')) throw new ListenIPError(`the default route's source ${src} is loopback`);
  return src;
}

/** Asks the kernel (no packet is sent) which source address the default route uses. */
export async function detectListenIP(runner: Runner = run): Promise<string> {
  // Any public unicast destination works; the lookup sends nothing.
  const r = await runner(['ip', '-j', '-4', 'route', 'get', '192.0.2.1'], { check: false });
  if (r.exitCode !== 0) throw new ListenIPError(`no default route (${r.stderr.trim() || `ip exited ${r.exitCode}`})`);
  return prefsrcFromRouteGet(r.stdout);
}

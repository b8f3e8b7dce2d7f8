/**
 * The kubelet API's paths and query parameters as data (pkg/kubelet/server's
 * routes): pure, so the table of what is served is testable without a socket.
 */

export type KubeletRoute =
  | { kind: 'containerLogs'; namespace: string; pod: string; container: string }
  | { kind: 'exec' | 'attach'; namespace: string; pod: string; uid?: string; container: string }
  | { kind: 'portForward'; namespace: string; pod: string; uid?: string }
  | { kind: 'run'; namespace: string; pod: string; uid?: string; container: string }
  | { kind: 'pods' }
  | { kind: 'healthz' };

export type RouteResult = { ok: true; route: KubeletRoute } | { ok: false; code: 404 | 405; message: string };

const METHODS: Record<KubeletRoute['kind'], readonly string[]> = {
  containerLogs: ['GET'],
  exec: ['GET', 'POST'],
  attach: ['GET', 'POST'],
  portForward: ['GET', 'POST'],
  run: ['POST'],
  pods: ['GET'],
  healthz: ['GET'],
};

/** Path segments, decoded; undefined when a segment is not valid percent-encoding or is empty/dot. */
function segments(pathname: string): string[] | undefined {
  const raw = pathname.split('/').slice(1);
  if (raw.length && raw[raw.length - 1] === '') raw.pop();
  const out: string[] = [];
  for (const r of raw) {
    let s: string;
    try {
      s = decodeURIComponent(r);
    } catch {
      return undefined;
    }
    if (s === '' || s === '.' || s === '..' || s.includes('/')) return undefined;
    out.push(s);
  }
  return out;
}

/** Which endpoint `method pathname` is. */
export function routeKubeletRequest(method: string, pathname: string): RouteResult {
  const segs = segments(pathname);
  const notFound: RouteResult = { ok: false, code: 404, message: `404 page not found: ${pathname}` };
  if (!segs || segs.length === 0) return notFound;
  const [head, ...rest] = segs;
  let route: KubeletRoute | undefined;
  switch (head) {
    case 'containerLogs':
      if (rest.length === 3) route = { kind: 'containerLogs', namespace: rest[0]!, pod: rest[1]!, container: rest[2]! };
      break;
    case 'exec':
    case 'attach':
    case 'run':
      if (rest.length === 3) route = { kind: head, namespace: rest[0]!, pod: rest[1]!, container: rest[2]! };
      else if (rest.length === 4) route = { kind: head, namespace: rest[0]!, pod: rest[1]!, uid: rest[2]!, container: rest[3]! };
      break;
    case 'portForward':
      if (rest.length === 2) route = { kind: 'portForward', namespace: rest[0]!, pod: rest[1]! };
      else if (rest.length === 3) route = { kind: 'portForward', namespace: rest[0]!, pod: rest[1]!, uid: rest[2]! };
      break;
    case 'pods':
      if (rest.length === 0) route = { kind: 'pods' };
      break;
    case 'healthz':
      if (rest.length === 0) route = { kind: 'healthz' };
      break;
  }
  if (!route) return notFound;
  if (!METHODS[route.kind].includes(method)) return { ok: false, code: 405, message: `${method} is not allowed on /${head} (allowed: ${METHODS[route.kind].join(', ')})` };
  return { ok: true, route };
}

/** `/containerLogs`' parameters (PodLogOptions) as the runtime takes them. */
export interface ContainerLogsQuery {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  /** Epoch ms (from sinceTime, or now − sinceSeconds). */
  sinceTime?: number;
  limitBytes?: number;
}

const bool = (v: string | null) => v === 'true' || v === '1';

/**
 * Validates the log parameters as the apiserver's PodLogOptions validation
 * does; a string is the one-line reason for a 400.
 */
export function parseContainerLogsQuery(q: URLSearchParams, now: number = Date.now()): ContainerLogsQuery | string {
  const out: ContainerLogsQuery = { follow: bool(q.get('follow')), previous: bool(q.get('previous')), timestamps: bool(q.get('timestamps')) };
  const int = (name: string, min: number): number | string | undefined => {
    const v = q.get(name);
    if (v === null || v === '') return undefined;
    if (!/^-?\d+$/.test(v)) return `${name}: invalid value "${v}": must be an integer`;
    const n = Number(v);
    if (n < min) return `${name}: invalid value ${n}: must be greater than or equal to ${min}`;
    return n;
  };
  const tail = int('tailLines', 0);
  if (typeof tail === 'string') return tail;
  if (tail !== undefined) out.tailLines = tail;
  const limit = int('limitBytes', 1);
  if (typeof limit === 'string') return limit;
  if (limit !== undefined) out.limitBytes = limit;
  const seconds = int('sinceSeconds', 1);
  if (typeof seconds === 'string') return seconds;
  const sinceTime = q.get('sinceTime');
  if (seconds !== undefined && sinceTime) return 'at most one of sinceTime or sinceSeconds may be specified';
  if (seconds !== undefined) out.sinceTime = now - seconds * 1000;
  if (sinceTime) {
    const t = Date.parse(sinceTime);
    if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}T/.test(sinceTime)) return `sinceTime: invalid value "${sinceTime}": must be an RFC3339 time`;
    out.sinceTime = t;
  }
  return out;
}

/** exec's `command` parameters (one per argv word); empty: a 400. */
export function execCommand(q: URLSearchParams): string[] | string {
  const cmd = q.getAll('command');
  if (cmd.length === 0) return 'you must specify at least one command for the container';
  return cmd;
}

/** /run's `cmd`: one string split on spaces, as the kubelet does. */
export function runCommand(q: URLSearchParams): string[] | string {
  const cmd = (q.get('cmd') ?? '').split(' ').filter(Boolean);
  if (cmd.length === 0) return 'cmd: a command is required';
  return cmd;
}

import { ApiClient } from '@pilot/api';
import { createPki, freeLocalPort, type Cluster } from '@pilot/netns';
import { fmt, median, quantile, recordRow } from '../lib/report.js';
import { pool } from '../lib/pool.js';
import { startApiserver } from '../lib/process.js';

/**
 * What authorization costs: the same requests over TLS with a bearer token
 * to two apiservers over the same etcd, one `--authorization-mode
 * AlwaysAllow`, one `Node,RBAC`, as a user that RBAC authorizes through a
 * RoleBinding to `edit` (so every request walks the bindings, not the
 * system:masters short cut). Sequential GETs (latency) and concurrent pod
 * creates (throughput), in the same run; goal: RBAC ≤ 1.1× AlwaysAllow.
 */

export interface AuthzFigures {
  mode: string;
  getMedianMs: number;
  getP99Ms: number;
  createsPerSec: number;
}

const USER = 'bench-editor';
const NS = 'authz';

export async function measureAuthorization(c: Cluster, opts: { gets: number; creates: number; concurrency: number }): Promise<AuthzFigures[]> {
  const pki = await createPki(`${c.stateDir}/authz-pki`, { ips: ['127.0.0.1'], users: [{ name: USER }] });
  const out: AuthzFigures[] = [];
  for (const mode of ['AlwaysAllow', 'Node,RBAC']) {
    const securePort = await freeLocalPort();
    const api = await startApiserver(c, [
      '--etcd-prefix', `/authz-${mode.replace(/\W/g, '')}`,
      '--bind-address', '127.0.0.1', '--secure-port', String(securePort),
      '--tls-cert-file', pki.certFile, '--tls-private-key-file', pki.keyFile, '--token-auth-file', pki.tokenFile,
      '--authorization-mode', mode,
    ]);
    const user = new ApiClient({ server: `https://127.0.0.1:${securePort}`, ca: pki.caPem, token: pki.tokens.get(`user:${USER}`)! });
    try {
      await api.ready();
      await api.client.create('namespaces', { metadata: { name: NS } });
      await api.client.create('rolebindings', {
        metadata: { name: 'editor', namespace: NS },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
        subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: USER }],
      } as never, { namespace: NS });
      const pod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
      // Until the binding reaches the authorizer (its watch).
      for (let i = 0; ; i++) {
        try {
          await user.create('pods', pod('first'), { namespace: NS });
          break;
        } catch (err) {
          if (i > 100) throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      const lat: number[] = [];
      for (let i = 0; i < opts.gets; i++) {
        const t = performance.now();
        await user.get('pods', 'first', { namespace: NS });
        lat.push(performance.now() - t);
      }
      const t = performance.now();
      await pool(opts.creates, opts.concurrency, async (i) => {
        await user.create('pods', pod(`p-${i}`), { namespace: NS });
      });
      out.push({ mode, getMedianMs: median(lat), getP99Ms: quantile(lat, 0.99), createsPerSec: opts.creates / ((performance.now() - t) / 1000) });
    } finally {
      user.close();
      api.client.close();
      api.child.kill('SIGTERM');
    }
  }
  return out;
}

/** The `make bench` rows: Node,RBAC beside AlwaysAllow, goal within 1.1× (creates/s: at least 1/1.1 of it). */
export function recordAuthz(f: AuthzFigures[]): void {
  const [allow, rbac] = [f.find((x) => x.mode === 'AlwaysAllow')!, f.find((x) => x.mode === 'Node,RBAC')!];
  const anchor = 'AlwaysAllow, same requests';
  recordRow({ bench: 'apiserver', figure: 'Node,RBAC GET pod, p99', unit: 'ms', value: rbac.getP99Ms, better: 'lower', anchor, anchorValue: allow.getP99Ms, goal: { on: 'ratio', bound: 1.1 }, runs: 1 });
  recordRow({ bench: 'apiserver', figure: 'Node,RBAC pod creates', unit: '/s', value: rbac.createsPerSec, better: 'higher', anchor, anchorValue: allow.createsPerSec, goal: { on: 'ratio', bound: 0.91 }, runs: 1 });
}

/** The table rows: each figure of Node,RBAC beside AlwaysAllow's. */
export function authzRows(f: AuthzFigures[]): string[][] {
  const [allow, rbac] = [f.find((x) => x.mode === 'AlwaysAllow')!, f.find((x) => x.mode === 'Node,RBAC')!];
  return [
    ['GET pod, median ms', fmt(rbac.getMedianMs, 2), fmt(allow.getMedianMs, 2), `${fmt(rbac.getMedianMs / allow.getMedianMs, 2)}x`, '≤ 1.1x'],
    ['GET pod, p99 ms', fmt(rbac.getP99Ms, 2), fmt(allow.getP99Ms, 2), `${fmt(rbac.getP99Ms / allow.getP99Ms, 2)}x`, '≤ 1.1x'],
    ['pod creates/s', fmt(rbac.createsPerSec, 0), fmt(allow.createsPerSec, 0), `${fmt(allow.createsPerSec / rbac.createsPerSec, 2)}x`, '≤ 1.1x'],
  ];
}

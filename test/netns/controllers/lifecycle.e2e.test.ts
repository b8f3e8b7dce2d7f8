import { mkdirSync } from 'node:fs';
import type { ApiClient, ServiceAccount } from '@pilot/api';
import { waitFor } from '@pilot/common';
import { Cluster, PILOT_BIN, startControlPlane, withLogsOnFailure, type ControlPlane, type Daemon } from '@pilot/netns';
import { Kubectl, tableRows } from '../kubectl/helpers.js';

/**
 * Object lifecycle for real: etcd, `pilot apiserver` (TLS) and one
 * `pilot controller-manager` running the serviceaccount controller, in the
 * master namespace, driven by the real kubectl and a plain client.
 */

let c: Cluster | undefined;
let cp: ControlPlane;
let api: ApiClient;
let k: Kubectl;
let cm: Daemon;
const NS = 'life';

const t = (name: string, fn: () => Promise<void>) => it(name, withLogsOnFailure(() => c, fn));

async function serviceAccount(ns: string, name: string): Promise<ServiceAccount | undefined> {
  return api.get<ServiceAccount>('serviceaccounts', name, { namespace: ns }).catch(() => undefined);
}

beforeAll(async () => {
  c = await Cluster.create({ hosts: 0, etcd: true });
  cp = await startControlPlane(c);
  api = cp.client;
  const dir = `${c.stateDir}/kubectl`;
  mkdirSync(dir, { recursive: true });
  k = new Kubectl(c.master, cp.kubeconfigFor(), `${dir}/cache`, NS);
  const port = await c.master.freePort();
  cm = c.master.spawn('controller-manager', [
    process.execPath, PILOT_BIN, 'controller-manager',
    '--kubeconfig', cp.kubeconfigFor(),
    '--healthz-port', String(port),
    '--leader-elect=false',
    '--controllers', 'serviceaccount',
  ]);
  await k.ok(['create', 'namespace', NS]);
});

afterAll(async () => {
  await cm?.stop();
  await c?.teardown();
});

describe('serviceaccount controller', () => {
  t('every namespace gets a default ServiceAccount, the system ones too, and a deleted one comes back', async () => {
    for (const ns of [NS, 'default', 'kube-system', 'kube-node-lease'])
      await waitFor(() => serviceAccount(ns, 'default'), { timeoutMs: 30_000, intervalMs: 200, what: `ServiceAccount ${ns}/default` });
    expect(tableRows(await k.ok(['get', 'sa']))).toEqual([['NAME', 'SECRETS', 'AGE'], ['default', '0', expect.any(String)]]);
    const first = (await serviceAccount(NS, 'default'))!;
    expect(await k.ok(['delete', 'sa', 'default'])).toBe('serviceaccount "default" deleted\n');
    const again = await waitFor(async () => {
      const sa = await serviceAccount(NS, 'default');
      return sa && sa.metadata.uid !== first.metadata.uid ? sa : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200, what: `ServiceAccount ${NS}/default to be created again` });
    expect(again.metadata.name).toBe('default');
    expect(cm.log()).toContain('created service account');
  });
});

import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { ApiClient, type Endpoints, type Node, type Pod } from '@pilot/api';
import { Cidr, FatalError, sleep, type CommandIO, type Logger } from '@pilot/common';
import { apiserverUrl, COMPONENT_IDENTITIES, componentPlan, kubeconfigOf, kubeletCertFiles, PILOT_BIN, type ClusterConfig } from './components.js';
import type { UpConfig } from './flags.js';
import { pictureHost, readSysctls, writeSysctl } from './host.js';
import { probeAll, stopAll, SUPERVISOR } from './lifecycle.js';
import { createPki, identityKey, kubeletServingCert, loadPki, writeKubeconfig } from '../pki/pki.js';
import { defaultRoute, preflight } from './preflight.js';
import { supervise } from './supervisor.js';
import { logFile, readJson, runningPid, stateLayout, writeJson, type StateLayout } from './state.js';

/**
 * `pilot up`: prepare the state dir (config, a picture of the host, PKI,
 * kubeconfig), hand the cluster to a detached supervisor (or run it in this
 * process with --foreground), and wait — one line per component, ticked off
 * with its time — until the node is Ready and DNS answers inside a pod.
 * Run again while the cluster is up, it only waits and prints.
 */

export interface Progress {
  step(name: string, elapsedMs: number, detail?: string): void;
  done(c: ClusterConfig, l: StateLayout, elapsedMs: number): void;
}

export function progressFor(c: UpConfig, io: CommandIO): Progress {
  const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
  if (c.output === 'json') {
    return {
      step: (name, elapsedMs, detail) => io.out(JSON.stringify({ step: name, status: 'done', elapsedMs, ...(detail ? { detail } : {}) }) + '\n'),
      done: (cc, l, elapsedMs) => io.out(JSON.stringify({ step: 'up', status: 'done', elapsedMs, kubeconfig: l.adminKubeconfig, server: apiserverUrl(cc), node: cc.nodeName }) + '\n'),
    };
  }
  return {
    step: (name, elapsedMs, detail) => io.out(` ✓ ${name.padEnd(20)} ${secs(elapsedMs).padStart(6)}${detail ? `  ${detail}` : ''}\n`),
    done: (cc, l, elapsedMs) =>
      io.out(
        [
          `pilot is up after ${secs(elapsedMs)}: node ${cc.nodeName} (${cc.nodeIp}), API ${apiserverUrl(cc)}, state in ${l.root}`,
          'Use it with:',
          `  export KUBECONFIG=${l.adminKubeconfig}`,
          '  kubectl get nodes',
          `Stop it with: pilot down${l.root === '/var/lib/pilot' ? '' : ` --state-dir ${l.root}`}`,
          '',
        ].join('\n'),
      ),
  };
}

/** Fills in the node's address and interface from the default route. */
async function clusterConfig(c: UpConfig): Promise<ClusterConfig> {
  const route = c.nodeIp && c.iface ? undefined : await defaultRoute();
  const nodeIp = c.nodeIp ?? route?.src;
  const iface = c.iface ?? route?.iface;
  if (!nodeIp || !iface) throw new FatalError('no default route to take the node address from: give --node-ip and --iface');
  return { ...c, nodeIp, iface };
}

/** PKI (first start only), the kubelet's serving certificate for this node, the admin kubeconfig. */
async function preparePki(c: ClusterConfig, l: StateLayout): Promise<void> {
  // Pods reach the apiserver at the service network's first address (default/kubernetes).
  const kubernetesIp = Cidr.parse(c.serviceCidr).nth(1);
  const pki = loadPki(l.pki) ?? (await createPki(l.pki, { ips: [c.nodeIp, kubernetesIp], nodes: [c.nodeName] }));
  const cert = kubeletCertFiles(l, c);
  if (!existsSync(cert.certFile)) await kubeletServingCert(pki, c.nodeName, c.nodeIp);
  writeKubeconfig(l.adminKubeconfig, { server: apiserverUrl(c), pki });
  // Each component as itself (RBAC and the Node authorizer see who asks); a node renamed since the PKI was made has no token of its own and runs as the admin.
  for (const comp of COMPONENT_IDENTITIES) {
    const token = pki.tokens.get(comp === 'kubelet' ? identityKey({ node: c.nodeName }) : identityKey(comp)) ?? pki.token;
    writeKubeconfig(kubeconfigOf(l, comp), { server: apiserverUrl(c), pki, token });
  }
}

export async function runUp(cfg: UpConfig, io: CommandIO, log: Logger, signal: AbortSignal): Promise<number> {
  const l = stateLayout(cfg.stateDir);
  if (cfg.supervise) {
    const c = readJson<ClusterConfig>(l.config);
    if (!c) throw new FatalError(`${l.config} is missing: run pilot up, not pilot up --supervise`);
    await supervise(c, l, log, signal);
    return 0;
  }
  const t0 = Date.now();
  const sup = runningPid(l, SUPERVISOR);
  // A running cluster keeps the configuration it was started with.
  const c = sup ? (readJson<ClusterConfig>(l.config) ?? (await clusterConfig(cfg))) : await clusterConfig(cfg);
  if (!sup) {
    const fresh = !existsSync(l.hostBefore);
    // A supervisor killed with its tree left running: stop the orphans (by PID file) so the new one can start them again.
    if (!fresh) await stopAll(l, componentPlan(c, l), log);
    await preflight(c, fresh);
    for (const d of [l.root, l.run, l.logs]) mkdirSync(d, { recursive: true, mode: 0o700 });
    // The host as it was, taken once: a second `up` after a killed supervisor must not take the cluster's own rules for the host's.
    if (fresh) writeJson(l.hostBefore, await pictureHost());
    for (const [k, v] of Object.entries(readSysctls())) if (v !== '1') writeSysctl(k, '1');
    writeJson(l.config, c);
    await preparePki(c, l);
    progressFor(cfg, io).step('certificates', Date.now() - t0, l.pki);
    if (cfg.foreground) {
      const done = supervise(c, l, log, signal);
      await waitUp(c, l, cfg, io, t0, () => true);
      await done;
      return 0;
    }
    const fd = openSync(logFile(l, SUPERVISOR), 'a');
    const child = spawn(process.execPath, [PILOT_BIN, 'up', '--supervise', '--state-dir', l.root], { detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child.unref();
    const pid = child.pid;
    let exited = false;
    child.once('exit', () => (exited = true));
    await waitUp(c, l, cfg, io, t0, () => !exited && pid !== undefined);
    return 0;
  }
  await waitUp(c, l, cfg, io, t0, () => runningPid(l, SUPERVISOR) !== undefined);
  return 0;
}

function tail(path: string, lines = 5): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join(' | ');
  } catch {
    return '(no log)';
  }
}

/** Waits for each component in order, then the node Ready and kube-dns registered; prints each step. */
async function waitUp(c: ClusterConfig, l: StateLayout, cfg: UpConfig, io: CommandIO, t0: number, supervisorAlive: () => boolean): Promise<void> {
  const progress = progressFor(cfg, io);
  const deadline = t0 + cfg.waitMs;
  const until = async (what: string, logOf: string, check: () => Promise<string | undefined>): Promise<string> => {
    for (;;) {
      const got = await check().catch(() => undefined);
      if (got !== undefined) return got;
      if (!supervisorAlive()) throw new FatalError(`the supervisor exited while waiting for ${what}: ${tail(logFile(l, SUPERVISOR))}`);
      if (Date.now() > deadline) throw new FatalError(`${what} not ready after ${cfg.waitMs / 1000}s: ${tail(logFile(l, logOf))} (logs in ${l.logs})`);
      await sleep(250);
    }
  };
  for (const comp of componentPlan(c, l)) {
    const detail = await until(comp.name, comp.name, async () => {
      const r = await probeAll(comp);
      return r.ok ? `pid ${runningPid(l, comp.name)?.pid ?? '?'}` : undefined;
    });
    progress.step(comp.name, Date.now() - t0, detail);
  }
  const api = ApiClient.fromKubeconfig(l.adminKubeconfig, undefined, { userAgent: 'pilot-up', timeoutMs: 5_000 });
  try {
    await until(`node ${c.nodeName} Ready`, 'kubelet', async () => {
      const node = await api.get<Node>('nodes', c.nodeName);
      return node.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ? '' : undefined;
    });
    progress.step(`node ${c.nodeName} Ready`, Date.now() - t0);
    await until(`kube-system/kube-dns at ${c.clusterDns}`, 'dnsd', async () => {
      const ep = await api.get<Endpoints>('endpoints', 'kube-dns', { namespace: 'kube-system' });
      return ep.subsets?.some((s) => s.addresses?.some((a) => a.ip === c.nodeIp)) ? '' : undefined;
    });
    progress.step('cluster DNS', Date.now() - t0, `${c.clusterDns} → ${c.nodeIp}:53`);
    await dnsAnswersInPod(c, api, (what, check) => until(what, 'dnsd', check));
    progress.step('DNS in a pod', Date.now() - t0, `kubernetes.default.svc.${c.clusterDomain}`);
  } finally {
    api.close();
  }
  progress.done(c, l, Date.now() - t0);
}

const DNS_CHECK_POD = 'pilot-up-dns-check';

/**
 * The last step before `up` returns (where kind stops before the node is
 * even Ready): a busybox pod in kube-system looks up the API's service name
 * through the cluster DNS, as any pod would; it is deleted afterwards. A
 * pod that failed is started again until the deadline.
 */
async function dnsAnswersInPod(c: ClusterConfig, api: ApiClient, until: (what: string, check: () => Promise<string | undefined>) => Promise<string>): Promise<void> {
  const name = `kubernetes.default.svc.${c.clusterDomain}`;
  const remove = () => api.delete('pods', DNS_CHECK_POD, { namespace: 'kube-system', gracePeriodSeconds: 0 }).catch(() => undefined);
  const create = () =>
    api.create<Pod>('pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: DNS_CHECK_POD, namespace: 'kube-system' },
      spec: { restartPolicy: 'Never', containers: [{ name: 'nslookup', image: 'busybox', command: ['nslookup', name] }] },
    }, { namespace: 'kube-system' });
  await remove();
  try {
    await until(`an answer for ${name} inside a pod`, async () => {
      const pod = await api.get<Pod>('pods', DNS_CHECK_POD, { namespace: 'kube-system' }).catch(() => undefined);
      if (!pod) {
        await create();
        return undefined;
      }
      if (pod.status?.phase === 'Failed') await remove();
      return pod.status?.phase === 'Succeeded' ? '' : undefined;
    });
  } finally {
    await remove();
  }
}

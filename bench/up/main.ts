/**
 * bench/up: `pilot up` as a user runs it, on one harness host (a network
 * namespace with a default route, as test/netns/up/up.e2e.test.ts runs it),
 * images served from the harness's image store (present, nothing downloaded).
 *
 *  - time-to-k8s by the six phases of tstromberg/time-to-k8s, each retried
 *    until it succeeds: Command Exec (`pilot up`), API Server Answering
 *    (`kubectl get po -A`), Kubernetes SVC, DNS SVC (`get svc kube-dns -n
 *    kube-system`), App Running (a Deployment + Service, then `kubectl exec
 *    deployment/netcat -- nc localhost 8080`), DNS Answering (`kubectl exec
 *    … nslookup netcat.default.svc.cluster.local`: busybox's nslookup does
 *    not walk the search list as dnsutils' does). The app is busybox's nc (the
 *    harness has no dnsutils:1.3 and downloads nothing). Each run starts from nothing: the
 *    previous one ends with `pilot down --purge`.
 *  - memory as PSS (/proc/<pid>/smaps_rollup: a Node binary mapped by 8
 *    processes counts once) of pilot's own processes (those running this
 *    Node binary) and of everything `pilot up` started: the processes that
 *    appeared in the host's network namespace plus those in its dockerd
 *    cgroup (containers), found from PIDs and namespaces, never by name; with
 *    0 pods and with 30 busybox pods of one Deployment.
 *  - idle CPU of everything over 60 s with 0 pods, in % of one core.
 *
 * Published anchors (not runnable here), printed beside each figure with
 * their source: /work/shared/reference/control-plane.md §4.1, §4.2 and the
 * idle-CPU line (microk8s#2186).
 *
 * Run alone: flock -x /work/team/quiet.lock node_modules/.bin/tsx bench/up/main.ts  (root)
 * Env: BENCH_RUNS (time-to-k8s runs, default 3), BENCH_PODS (default 30), BENCH_IDLE_S (default 60).
 */
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { run, waitFor } from '@pilot/common';
import { cgroupParentOf, cgroupPids, Cluster, ensureImages, PILOT_BIN, unreachableNameservers, type Host } from '@pilot/netns';
import { Kubectl } from '../../test/netns/kubectl/helpers.js';
import { descendantsOf, exeOf, processTable, pssKiBOf, totalCpuMs, totalPssKiB } from '../lib/procfs.js';
import { fmt, median, recordRow, table } from '../lib/report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PODS = Number(process.env.BENCH_PODS ?? 30);
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 60);
const SRC = 'control-plane.md §4.1 (minikube time-to-k8s v1.36.0)';
const PHASES = ['Command Exec', 'API Server Answering', 'Kubernetes SVC', 'DNS SVC', 'App Running', 'DNS Answering'] as const;
/** Published per-phase anchors where the reference gives one (k3d v5.8.3 exec 12.6 s; minikube DNS Answering 23.2 s). */
const PHASE_ANCHOR: Partial<Record<(typeof PHASES)[number], string>> = {
  'Command Exec': 'goal ≤ 5 s; k3d 12.6 s, kind 14.2 s, minikube 21.1 s',
  'App Running': 'kind 18.0 s',
  'DNS Answering': 'goal ≤ 1 s; minikube 23.2 s',
};

/** A Deployment of busybox pods labelled app=<name>, its container's fields given as YAML flow text. */
const deployment = (name: string, replicas: number, podSpec: string) => `
apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
${podSpec}
`;

const NETCAT = (replicas: number) => `${deployment('netcat', replicas, `      containers:
      - name: netcat
        image: busybox
        command: ['sh', '-c', 'while true; do echo ok | nc -l -p 8080; done']
        ports: [{ containerPort: 8080 }]`)}---
apiVersion: v1
kind: Service
metadata: { name: netcat }
spec:
  selector: { app: netcat }
  ports: [{ port: 8080, targetPort: 8080 }]
`;

const IDLE = (replicas: number) => deployment('idle', replicas, `      terminationGracePeriodSeconds: 1
      containers: [{ name: sleep, image: busybox, command: ['sleep', '86400'] }]`);

interface UpRun {
  phasesMs: number[];
  /** pilot up's own steps (--output json), cumulative ms from its start. */
  steps: { step: string; elapsedMs: number }[];
}

class Bench {
  readonly stateDir: string;
  readonly k: Kubectl;
  readonly cgroup: string;
  private before = new Set<number>();

  constructor(
    readonly c: Cluster,
    readonly h: Host,
    readonly store: string,
  ) {
    this.stateDir = `${h.stateDir}/pilot`;
    this.cgroup = cgroupParentOf(c.prefix, h.name);
    this.k = new Kubectl(h, `${this.stateDir}/admin.kubeconfig`, `${c.stateDir}/kube-cache`, 'default');
  }

  async pilot(args: readonly string[]): Promise<string> {
    const r = await this.h.exec([process.execPath, PILOT_BIN, ...args], { timeoutMs: 240_000 });
    if (r.exitCode !== 0) throw new Error(`pilot ${args.join(' ')} exited ${r.exitCode}: ${r.stderr.trim()} ${r.stdout.trim()}`);
    return r.stdout;
  }

  /** PIDs in the host's network namespace, asked from the root namespace (inside it, `ip netns pids` lists itself). */
  async netnsPids(): Promise<number[]> {
    return (await run(['ip', 'netns', 'pids', this.h.ns])).stdout.trim().split('\n').filter(Boolean).map(Number);
  }

  async markBefore(): Promise<void> {
    this.before = new Set(await this.netnsPids());
  }

  /** Everything `pilot up` started: new processes of the host's netns, its dockerd cgroup (containers), and their descendants. */
  async everything(): Promise<Set<number>> {
    const roots = [...(await this.netnsPids()).filter((p) => !this.before.has(p)), ...cgroupPids({ name: this.cgroup })];
    return descendantsOf(roots, processTable());
  }

  /** Of those, pilot's own: the processes running this Node binary (supervisor and the Node components). */
  own(all: Iterable<number>): number[] {
    const node = realpathSync(process.execPath);
    return [...all].filter((p) => exeOf(p) === node);
  }

  /** PID → component from the supervisor's run/<name>.pid files; others by their executable (for the breakdown only). */
  labels(): Map<number, string> {
    const out = new Map<number, string>();
    const dir = `${this.stateDir}/run`;
    for (const f of readdirSync(dir)) {
      if (!f.endsWith('.pid')) continue;
      try {
        out.set((JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')) as { pid: number }).pid, f.slice(0, -4));
      } catch {
        /* being rewritten */
      }
    }
    return out;
  }

  /** Retries `fn` until it succeeds (time-to-k8s's retry), returning ms spent. */
  async phase(what: string, fn: () => Promise<boolean>): Promise<number> {
    const t0 = performance.now();
    await waitFor(async () => ((await fn()) ? true : undefined), { timeoutMs: 180_000, intervalMs: 100, what });
    return performance.now() - t0;
  }

  async kubectlOk(args: readonly string[], expect?: RegExp): Promise<boolean> {
    const r = await this.k.run(args, { timeoutMs: 30_000 });
    return r.exitCode === 0 && (!expect || expect.test(r.stdout));
  }

  async timeToK8s(): Promise<UpRun> {
    const phasesMs: number[] = [];
    let steps: UpRun['steps'] = [];
    phasesMs.push(
      await this.phase('pilot up', async () => {
        const out = await this.pilot(['up', '--state-dir', this.stateDir, '--node-name', this.h.name, '--image-store', this.store, '--cgroup-parent', this.cgroup, '--output', 'json']);
        steps = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { step: string; elapsedMs: number });
        return true;
      }),
    );
    phasesMs.push(await this.phase('kubectl get po -A', () => this.kubectlOk(['get', 'po', '-A'])));
    phasesMs.push(await this.phase('get svc kubernetes', () => this.kubectlOk(['get', 'svc', 'kubernetes'])));
    phasesMs.push(await this.phase('get svc kube-dns', () => this.kubectlOk(['get', 'svc', 'kube-dns', '-n', 'kube-system'])));
    phasesMs.push(
      await this.phase('app running', async () => {
        const r = await this.k.run(['apply', '-f', '-'], { input: NETCAT(1) });
        return r.exitCode === 0 && this.kubectlOk(['exec', 'deployment/netcat', '--', 'nc', '-w', '2', 'localhost', '8080'], /ok/);
      }),
    );
    phasesMs.push(await this.phase('DNS answering', () => this.kubectlOk(['exec', 'deployment/netcat', '--', 'nslookup', 'netcat.default.svc.cluster.local'], /^Name:\s+netcat\.default\.svc/m)));
    return { phasesMs, steps };
  }

  async podsRunning(n: number): Promise<void> {
    await waitFor(async () => {
      const r = await this.k.run(['get', 'po', '-A', '-o', 'jsonpath={range .items[*]}{.status.phase}{"\\n"}{end}'], { timeoutMs: 30_000 });
      const phases = r.stdout.split('\n').filter(Boolean);
      return r.exitCode === 0 && phases.length === n && phases.every((p) => p === 'Running') ? true : undefined;
    }, { timeoutMs: 300_000, intervalMs: 1000, what: `${n} pods Running (and no other)` });
  }

  /** PSS of pilot's own and of everything, in MB, and the eight largest processes. */
  async memory(): Promise<{ ownMB: number; allMB: number; count: number; top: string }> {
    const all = await this.everything();
    const own = this.own(all);
    const top = this.largest(new Map([...all].map((p) => [p, pssKiBOf(p) ?? 0])), (kib) => fmt(kib / 1024, 0));
    return { ownMB: totalPssKiB(own) / 1024, allMB: totalPssKiB(all) / 1024, count: all.size, top };
  }

  /** The eight largest figures of `byPid` summed by process name (labels(), else the executable), as "name figure, …". */
  largest(byPid: ReadonlyMap<number, number>, show: (x: number) => string): string {
    const labels = this.labels();
    const byName = new Map<string, number>();
    for (const [p, x] of byPid) {
      const name = labels.get(p) ?? basename(exeOf(p) ?? '?');
      byName.set(name, (byName.get(name) ?? 0) + x);
    }
    return [...byName].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([n, x]) => `${n} ${show(x)}`).join(', ');
  }
}

const s = (ms: number) => `${fmt(ms / 1000, 2)} s`;

async function main(): Promise<void> {
  const c = await Cluster.create({ hosts: 1 });
  const h = c.hosts[0]!;
  const b = new Bench(c, h, (await ensureImages(c.master)).dir);
  try {
    await unreachableNameservers(h);
    await b.markBefore();
    const runs: UpRun[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await b.timeToK8s();
      runs.push(r);
      process.stderr.write(`run ${i + 1}: ${r.phasesMs.map(s).join(' ')} total ${s(r.phasesMs.reduce((a, x) => a + x, 0))}\n`);
      if (i < RUNS - 1) await b.pilot(['down', '--state-dir', b.stateDir, '--purge']);
    }
    const totals = runs.map((r) => r.phasesMs.reduce((a, x) => a + x, 0));
    table(
      `bench/up: time-to-k8s, ${RUNS} runs from nothing (pilot down --purge between), images in the harness store, quiet machine`,
      ['phase', 'pilot median', ...runs.map((_, i) => `run ${i + 1}`), 'published anchor'],
      [
        ...PHASES.map((p, j) => [p, s(median(runs.map((r) => r.phasesMs[j]!))), ...runs.map((r) => s(r.phasesMs[j]!)), PHASE_ANCHOR[p] ?? '']),
        ['total', s(median(totals)), ...totals.map(s), `goal ≤ 15 s; k3d 19.9 s, kind 33.0 s, minikube 50.8 s (${SRC})`],
      ],
    );
    const tt = (figure: string, value: number, published: number, source: string, bound: number) =>
      recordRow({ bench: 'up', figure, unit: 's', value, better: 'lower', anchor: source, published: { value: published, source: SRC }, goal: { on: 'value', bound }, runs: RUNS, note: 'median; images present' });
    tt('time-to-k8s total', median(totals) / 1000, 19.9, 'k3d v5.8.3', 15);
    tt('time-to-k8s Command Exec', median(runs.map((r) => r.phasesMs[0]!)) / 1000, 12.6, 'k3d v5.8.3', 5);
    tt('time-to-k8s DNS Answering', median(runs.map((r) => r.phasesMs[5]!)) / 1000, 23.2, 'minikube v1.36.0', 1);
    // Where Command Exec goes: pilot up's own steps, each as the time since the step before.
    const stepNames = runs[0]!.steps.map((x) => x.step);
    const delta = (r: UpRun, i: number) => r.steps[i]!.elapsedMs - (i > 0 ? r.steps[i - 1]!.elapsedMs : 0);
    table(
      'bench/up: inside Command Exec, pilot up --output json steps (time since the previous step)',
      ['step', 'median', ...runs.map((_, i) => `run ${i + 1}`)],
      stepNames.map((n, i) => [n, s(median(runs.map((r) => delta(r, i)))), ...runs.map((r) => (r.steps[i]?.step === n ? s(delta(r, i)) : '?'))]),
    );

    // 0 pods: the app gone, nothing but the cluster itself.
    await b.k.run(['delete', 'deployment/netcat', 'svc/netcat', '--wait=true'], { timeoutMs: 60_000 });
    await waitFor(async () => ((await b.k.run(['get', 'po', '-A', '-o', 'name'])).stdout.trim() === '' ? true : undefined), { timeoutMs: 120_000, intervalMs: 500, what: 'no pods left' });
    await new Promise((r) => setTimeout(r, 5_000));
    const m0 = await b.memory();
    const idleSet = await b.everything();
    const cpu0 = new Map([...idleSet].map((p) => [p, totalCpuMs([p])]));
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const idleMs = performance.now() - t0;
    // CPU each process used meanwhile (one that exited counts what it had, negatively, as the sum always did).
    const used = new Map([...cpu0].map(([p, ms]) => [p, totalCpuMs([p]) - ms]));
    const idlePct = ([...used.values()].reduce((a, x) => a + x, 0) / idleMs) * 100;
    // Where the idle CPU goes, by process (the names the memory lines use).
    const idleTop = b.largest(used, (ms) => fmt((ms / idleMs) * 100, 2));
    const ownIdle = b.own(idleSet);

    await b.k.run(['apply', '-f', '-'], { input: IDLE(PODS) });
    await b.podsRunning(PODS);
    await new Promise((r) => setTimeout(r, 5_000));
    const m30 = await b.memory();

    const k3s = 'k3s server with workload 1,596 MB, server + agent 1,428 MB, agent 275 MB (docs.k3s.io resource profiling, control-plane.md §4.2)';
    table(
      'bench/up: memory (PSS, MB) and idle CPU, one run, quiet machine',
      ['figure', 'pilot', 'goal', 'published anchor'],
      [
        ['PSS pilot own, 0 pods', fmt(m0.ownMB, 0), '≤ 250', k3s],
        ['PSS everything, 0 pods', `${fmt(m0.allMB, 0)} (${m0.count} procs)`, '≤ 400', 'k0s controller 510 MB, 0 pods (control-plane.md §4.2)'],
        [`PSS pilot own, ${PODS} pods`, fmt(m30.ownMB, 0), '', k3s],
        [`PSS everything, ${PODS} pods`, `${fmt(m30.allMB, 0)} (${m30.count} procs)`, '', k3s],
        [`idle CPU everything, ${IDLE_S} s, 0 pods`, `${fmt(idlePct, 2)} %`, '≤ 2 %', 'microk8s kubelite 20–30 % (microk8s#2186, control-plane.md)'],
      ],
    );
    const K3S = 'docs.k3s.io resource profiling, control-plane.md §4.2';
    const mem = (figure: string, value: number, anchor: string, published: number, bound?: number) =>
      recordRow({ bench: 'up', figure, unit: 'MB', value, better: 'lower', anchor, published: { value: published, source: K3S }, ...(bound ? { goal: { on: 'value' as const, bound } } : {}), runs: 1, note: 'PSS' });
    mem('PSS pilot own, 0 pods', m0.ownMB, 'k3s server + agent', 1428, 250);
    mem('PSS everything up started, 0 pods', m0.allMB, 'k3s server + agent', 1428, 400);
    mem(`PSS pilot own, ${PODS} pods`, m30.ownMB, 'k3s server with workload', 1596);
    mem(`PSS everything up started, ${PODS} pods`, m30.allMB, 'k3s server with workload', 1596);
    recordRow({ bench: 'up', figure: `idle CPU over ${IDLE_S} s, 0 pods`, unit: '% of a core', value: idlePct, better: 'lower', anchor: 'microk8s kubelite idle (low end)', published: { value: 20, source: 'microk8s#2186, control-plane.md' }, goal: { on: 'value', bound: 2 }, runs: 1 });
    process.stdout.write(`\nlargest, 0 pods (MB): ${m0.top}\nlargest, ${PODS} pods (MB): ${m30.top}\nidle CPU, 0 pods (% of a core): ${idleTop}\npilot own processes at idle: ${ownIdle.length}\n`);
  } finally {
    // A failed phase leaves the cluster up: down first, the harness removes the rest.
    if (existsSync(`${b.stateDir}/config.json`)) await b.pilot(['down', '--state-dir', b.stateDir, '--purge']).catch(() => undefined);
    await c.teardown();
  }
}

await main();

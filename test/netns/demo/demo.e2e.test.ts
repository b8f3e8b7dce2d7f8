import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { run, waitFor } from '@pilot/common';
import { cgroupsOf, isAlive, lockHeld, namespacesOf } from '@pilot/netns';
import { processRef, stillRunning, type ProcessRef } from '@pilot/orchestrator-core/up';
import type { DemoState } from '../../../demo/state.js';

/**
 * `make demo`'s lifecycle without the seed story: demo/main.ts starts the
 * detached owner with two hosts, one pod and the second story (--tiny), returns once the cluster
 * is up and leaves it running; `make clean-netns` leaves it alone; a second
 * `make demo` says it is up; demo/down.ts stops the owner, which removes it,
 * and finds nothing left — which the test checks again on its own. A state
 * file of its own (PILOT_DEMO_STATE), so a real demo on the machine is never
 * touched.
 */

const tsx = new URL('../../../node_modules/.bin/tsx', import.meta.url).pathname;
const demo = (f: string) => new URL(`../../../demo/${f}`, import.meta.url).pathname;
const cli = new URL('../src/cli.ts', import.meta.url).pathname;

describe('make demo / make demo-down', () => {
  const dir = mkdtempSync('/tmp/pilot-demo-e2e-');
  const stateFile = `${dir}/demo.json`;
  const env = { PILOT_DEMO_STATE: stateFile };
  const node = (argv: readonly string[], timeoutMs: number) => run([tsx, ...argv], { check: false, timeoutMs, env: { ...process.env, ...env } as Record<string, string> });
  let s: DemoState | undefined;
  let first: { exitCode: number; stdout: string; stderr: string };

  beforeAll(async () => {
    first = await node([demo('main.ts'), '--tiny'], 170_000);
    if (existsSync(stateFile)) s = JSON.parse(readFileSync(stateFile, 'utf8')) as DemoState;
  }, 180_000);

  afterAll(async () => {
    // A failed test must not leave the owner (and with it the cluster) running.
    if (s && isAlive(s.owner.pid)) {
      process.kill(s.owner.pid, 'SIGTERM');
      await waitFor(() => !isAlive(s!.owner.pid), { timeoutMs: 120_000, what: 'the demo owner to exit' }).catch(() => process.kill(s!.owner.pid, 'SIGKILL'));
    }
    rmSync(dir, { recursive: true, force: true });
  }, 150_000);

  it('returns once the cluster is up and leaves it running, owned by a live lock holder', async () => {
    if (first.exitCode !== 0) throw new Error(`demo/main.ts exited ${first.exitCode}:\n${first.stdout}\n${first.stderr}`);
    expect(s?.ready).toBe(true);
    expect(first.stdout).toContain('### demo is up');
    expect(first.stdout).toContain(`kubectl --kubeconfig ${s!.kubeconfig} get nodes`);
    expect(first.stdout).toContain('make demo-down');
    expect(isAlive(s!.owner.pid)).toBe(true);
    expect(lockHeld(s!.slot)).toBe(true);
    expect(namespacesOf(s!.prefix).length).toBeGreaterThanOrEqual(3);
    // The printed command line works from the root namespace.
    const nodes = await run(['kubectl', '--kubeconfig', s!.kubeconfig!, '--cache-dir', `${dir}/kube-cache`, 'get', 'pods', 'idle', '-o', 'jsonpath={.status.phase}'], { timeoutMs: 30_000 });
    expect(nodes.stdout).toBe('Running');
  });

  it('tells the second story: a Deployment exposed on a worker address answers curl from outside, from a pod on another host', () => {
    const out = first.stdout;
    expect(out).toContain('### kubectl create deployment hello-kube --image=guest/mynode --replicas=2 --port=8888');
    expect(out).toMatch(/### kubectl rollout status deployment\/hello-kube[^\n]*\n[^#]*successfully rolled out/);
    const ip = /### kubectl expose deployment hello-kube --type=LoadBalancer --external-ip=(\S+) --port=8300 --target-port=8888/.exec(out)?.[1];
    expect(s!.hosts.map((h) => h.ip)).toContain(ip);
    // kubectl get svc hello-kube: the EXTERNAL-IP column shows the address.
    expect(out).toMatch(new RegExp(`### kubectl get svc hello-kube\\n.*EXTERNAL-IP.*\\nhello-kube\\s+LoadBalancer\\s+\\S+\\s+${ip!.replace(/\./g, '\\.')}\\s+8300:\\d+/TCP`));
    expect(out).toMatch(new RegExp(`### curl ${ip!.replace(/\./g, '\\.')}:8300 \\(from the root namespace[^\\n]*\\nHello World\\n`));
    // Some DNAT to a pod on another host counted a packet.
    const seps = /### h\d: iptables-save -c -t nat \| grep hello-kube \| grep DNAT \(pods on other hosts\)\n((?:\[.*\n)+)/.exec(out)?.[1];
    expect(seps?.split('\n').some((l) => /^\[[1-9]\d*:/.test(l))).toBe(true);
  });

  it('is left alone by make clean-netns and by a second make demo', async () => {
    const before = namespacesOf(s!.prefix).sort();
    const clean = await run([tsx, cli, 'cleanup'], { timeoutMs: 60_000 });
    expect(clean.stdout).not.toContain(s!.prefix + ',');
    expect(clean.stdout).not.toMatch(new RegExp(`\\b${s!.prefix}\\b`));
    expect(namespacesOf(s!.prefix).sort()).toEqual(before);
    expect(isAlive(s!.owner.pid)).toBe(true);

    const again = await node([demo('main.ts'), '--tiny'], 60_000);
    expect(again.exitCode).toBe(0);
    expect(again.stdout.trim().split('\n')).toEqual([expect.stringContaining(`demo: already up (run ${s!.prefix}, owner pid ${s!.owner.pid}`)]);
    expect((JSON.parse(readFileSync(stateFile, 'utf8')) as DemoState).owner).toEqual(s!.owner);
  });

  it('demo-down stops the owner, which removes every namespace, process, container and file of the run', async () => {
    const pidsFile = `${s!.stateDir}/pids`;
    const pids = readFileSync(pidsFile, 'utf8').split('\n').map(Number).filter((p) => p > 0).map(processRef).filter((r): r is ProcessRef => r !== undefined);
    expect(pids.length).toBeGreaterThan(5);
    expect(cgroupsOf(s!.prefix).length).toBeGreaterThan(0); // the pod's container
    const down = await node([demo('down.ts')], 150_000);
    if (down.exitCode !== 0) throw new Error(`demo/down.ts exited ${down.exitCode}:\n${down.stdout}\n${down.stderr}`);
    expect(down.stdout).toContain(`run ${s!.prefix} removed`);
    expect(isAlive(s!.owner.pid)).toBe(false);
    expect(pids.filter(stillRunning)).toEqual([]);
    expect(namespacesOf(s!.prefix)).toEqual([]);
    expect(cgroupsOf(s!.prefix)).toEqual([]);
    expect(lockHeld(s!.slot)).toBe(false);
    expect([s!.stateDir, stateFile, stateFile.replace(/\.json$/, '.log')].filter((f) => existsSync(f))).toEqual([]);
    // Nothing to stop the second time.
    const again = await node([demo('down.ts')], 30_000);
    expect(again.stdout).toContain('no demo is up');
  });
});

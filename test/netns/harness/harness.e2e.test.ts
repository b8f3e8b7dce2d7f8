import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { run, waitFor } from '@pilot/common';
import { Cluster, isAlive, lockHeld, namespacesOf, removeLeftovers, withLogsOnFailure } from '@pilot/netns';

const fixture = new URL('./fixtures/run-and-fail.ts', import.meta.url).pathname;
const holdSlot = new URL('./fixtures/hold-slot.ts', import.meta.url).pathname;
const tsx = new URL('../../../node_modules/.bin/tsx', import.meta.url).pathname;

interface ChildRun {
  prefix: string;
  pid: number;
  pod: string;
  stateDir: string;
}

async function runFixture(mode: 'throw' | 'crash'): Promise<{ exitCode: number; info: ChildRun; stderr: string }> {
  const r = await run([tsx, fixture, mode], { check: false, timeoutMs: 120_000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`fixture printed nothing: ${r.stderr}`);
  return { exitCode: r.exitCode, info: JSON.parse(line) as ChildRun, stderr: r.stderr };
}

// isAlive reads /proc: an orphaned zombie (PID 1 here does not reap) is dead.
const alive = isAlive;

function leftoversOf(info: ChildRun): string[] {
  const found: string[] = [...namespacesOf(info.prefix)];
  if (alive(info.pid)) found.push(`pid ${info.pid}`);
  if (existsSync(`/etc/netns/${info.pod}`)) found.push(`/etc/netns/${info.pod}`);
  if (existsSync(info.stateDir)) found.push(info.stateDir);
  const links = readdirSync('/sys/class/net').filter((l) => l.startsWith(`${info.prefix}r`));
  return [...found, ...links];
}

describe('test/netns harness', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await Cluster.create({ hosts: 3, etcd: true });
  });
  afterAll(async () => {
    await c?.teardown();
  });

  it(
    'gives every host a path to etcd over the underlay',
    withLogsOnFailure(() => c, async () => {
      for (const h of c.hosts) {
        const put = await h.execOk(['etcdctl', `--endpoints=${c.etcd!.endpoint}`, 'put', `/harness/${h.name}`, h.ip], { env: { ETCDCTL_API: '3' } });
        expect(put.stdout.trim()).toBe('OK');
      }
      const got = await c.etcd!.etcdctl(['get', '--prefix', '/harness/', '--print-value-only']);
      expect(got.stdout.trim().split('\n').sort()).toEqual(c.hosts.map((h) => h.ip).sort());
      // The root namespace reaches the master too (test code talks to daemons directly).
      const health = (await (await fetch(`${c.etcd!.endpoint}/health`)).json()) as { health: string };
      expect(health.health).toBe('true');
    }),
  );

  it(
    'restarts etcd on the same data directory',
    withLogsOnFailure(() => c, async () => {
      const etcd = c.etcd!;
      expect((await etcd.etcdctl(['put', '/harness/durable', 'yes'])).exitCode).toBe(0);
      await etcd.stop();
      expect(etcd.running).toBe(false);
      expect((await c.hosts[0]!.exec(['etcdctl', `--endpoints=${etcd.endpoint}`, '--dial-timeout=1s', '--command-timeout=2s', 'get', '/harness/durable'], { env: { ETCDCTL_API: '3' } })).exitCode).not.toBe(0);
      await etcd.start();
      expect((await etcd.etcdctl(['get', '/harness/durable', '--print-value-only'])).stdout.trim()).toBe('yes');
    }),
  );

  it(
    'routes a pod on host 1 to host 2’s underlay address through host 1',
    withLogsOnFailure(() => c, async () => {
      const [h1, h2] = c.hosts as [(typeof c.hosts)[0], (typeof c.hosts)[0]];
      await h1.configureBridge('10.1.5.1/24', 1450);
      const pod = await h1.addPod();
      expect(pod.ip).toBe('10.1.5.2');
      // Host 2 needs a way back to the pod subnet, as an overlay would give it.
      await h2.execOk(['ip', 'route', 'add', '10.1.5.0/24', 'via', h1.ip]);
      const r = await pod.execOk(['ping', '-c', '1', '-W', '2', h2.ip]);
      expect(r.stdout).toMatch(/1 received/);
      const mtu = await pod.execOk(['ip', '-o', 'link', 'show', 'eth0']);
      expect(mtu.stdout).toMatch(/mtu 1450/);
      const hairpin = await h1.execOk(['ip', '-d', 'link', 'show', 'vp1']);
      expect(hairpin.stdout).toMatch(/hairpin on/);
    }),
  );

  it(
    'keeps a daemon’s log across restarts and stops it by PID',
    withLogsOnFailure(() => c, async () => {
      const h = c.hosts[2]!;
      const d = h.spawn('pinger', ['ping', '-c', '200', '-i', '0.2', c.master.ip]);
      await d.waitForLog(/bytes from/);
      const firstPid = d.pid!;
      await d.restart();
      expect(d.pid).not.toBe(firstPid);
      expect(alive(firstPid)).toBe(false);
      await waitFor(() => d.log().split('--- start #').length === 3 && d.log().match(/bytes from/g)!.length >= 2, {
        what: 'a second start in the same log',
      });
      const exit = await d.stop();
      expect(exit.signal ?? exit.code).toBeTruthy();
      expect(d.running).toBe(false);
    }),
  );

  it('leaves nothing behind when a test fails, and does not disturb another live run', async () => {
    const mine = namespacesOf(c.prefix).sort();
    const { exitCode, info, stderr } = await runFixture('throw');
    expect(exitCode).not.toBe(0);
    expect(stderr).toContain('this run fails on purpose');
    expect(info.prefix).not.toBe(c.prefix);
    expect(leftoversOf(info)).toEqual([]);
    expect(lockHeld(Number(info.prefix.replace('plt', '')))).toBe(false);
    // The live run is intact.
    expect(namespacesOf(c.prefix).sort()).toEqual(mine);
    expect(c.etcd!.running).toBe(true);
    expect((await c.hosts[0]!.exec(['ping', '-c', '1', '-W', '2', c.hosts[1]!.ip])).exitCode).toBe(0);
  });

  it('removes a crashed run’s leftovers on the next run, never a live run’s', async () => {
    const mine = namespacesOf(c.prefix).sort();
    const { info } = await runFixture('crash');
    // Killed before teardown: its namespaces and daemon are still there...
    expect(leftoversOf(info).length).toBeGreaterThan(0);
    expect(lockHeld(Number(info.prefix.replace('plt', '')))).toBe(false);
    // ...until the leftover cleanup that every run starts with.
    const removed = removeLeftovers();
    expect(removed).toContain(info.prefix);
    expect(removed).not.toContain(c.prefix);
    expect(leftoversOf(info)).toEqual([]);
    expect(namespacesOf(c.prefix).sort()).toEqual(mine);
    expect(c.etcd!.running).toBe(true);
  });

  it('gives runs started at the same moment distinct slots', async () => {
    const dir = mkdtempSync('/tmp/pilot-slots-');
    try {
      const runs = Array.from({ length: 4 }, () => run([tsx, holdSlot, dir], { check: false, timeoutMs: 120_000 }));
      const prefixes = await waitFor(
        () => {
          const files = readdirSync(dir).filter((f) => f.endsWith('.prefix'));
          return files.length === 4 ? files.map((f) => readFileSync(`${dir}/${f}`, 'utf8')) : false;
        },
        { timeoutMs: 60_000, what: 'four runs to hold a slot' },
      );
      expect(new Set(prefixes).size).toBe(4);
      expect(prefixes).not.toContain(c.prefix);
      for (const p of prefixes) expect(namespacesOf(p).length).toBe(3);
      writeFileSync(`${dir}/go`, '');
      const results = await Promise.all(runs);
      expect(results.map((r) => r.exitCode)).toEqual([0, 0, 0, 0]);
      for (const p of prefixes) expect(namespacesOf(p)).toEqual([]);
    } finally {
      writeFileSync(`${dir}/go`, '');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

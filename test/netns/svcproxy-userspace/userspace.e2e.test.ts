import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { readdirSync } from 'node:fs';
import { jumpFixLines, parseSave, waitFor } from '@pilot/common';
import { USERSPACE_JUMPS } from '../../../packages/svcproxy/src/userspace/index.js';
import { Cluster, withLogsOnFailure, type Daemon, type Host, type NetnsPod } from '@pilot/netns';

// svcproxy userspace mode against real namespaces, without the apiserver: a
// driver runs the compiled proxier inside host 1 from a static model file;
// pods on both hosts run tiny TCP/UDP backends; static routes join the pod
// subnets. Build first: `npx tsc -b packages/svcproxy`.

const fixture = (f: string) => new URL(`./fixtures/${f}`, import.meta.url).pathname;
const node = process.execPath;

const WEB_IP = '10.0.0.20';
const UDP_IP = '10.0.0.21';
const STICKY_IP = '10.0.0.22';
const EMPTY_IP = '10.0.0.23';
const EXTERNAL_IP = '203.0.113.20';
const WEB_NODEPORT = 30080;
const EMPTY_NODEPORT = 30081;
const BACKEND_PORT = 8080;

interface Backend {
  name: string;
  pod: NetnsPod;
  daemon: Daemon;
}

interface ClientResult {
  counts: Record<string, number>;
  errors: Record<string, number>;
}

let c: Cluster;
let h1: Host;
let h2: Host;
let client: NetnsPod;
let driver: Daemon;
let modelPath: string;
let healthPort: number;
let generation = 0;
const backends: Backend[] = [];
/** The pod running dnsd behind 10.0.0.10, once the DNS test has started it. */
let dnsPod: NetnsPod | undefined;

const DNSD = new URL('../../../packages/dnsd/dist/bin/dnsd.js', import.meta.url).pathname;
const DNS_IP = '10.0.0.10';

function service(name: string, clusterIP: string, port: number, protocol: 'TCP' | 'UDP', extra: Record<string, unknown> = {}) {
  return { metadata: { namespace: 'default', name }, spec: { clusterIP, ports: [{ port, protocol, ...(extra.nodePort ? { nodePort: extra.nodePort } : {}) }], ...extra.spec as object } };
}

function endpoints(name: string, names: readonly string[]) {
  const addrs = backends.filter((b) => names.includes(b.name)).map((b) => ({ ip: b.pod.ip }));
  return { metadata: { namespace: 'default', name }, subsets: addrs.length ? [{ addresses: addrs, ports: [{ port: BACKEND_PORT }] }] : [] };
}

/** Writes the model (atomically) and has the driver sync it; resolves once it has. */
async function applyModel(web: readonly string[], udp: readonly string[]): Promise<void> {
  generation++;
  const model = {
    generation,
    services: [
      service('web', WEB_IP, 80, 'TCP', { nodePort: WEB_NODEPORT, spec: { externalIPs: [EXTERNAL_IP] } }),
      service('dns', UDP_IP, 53, 'UDP'),
      service('sticky', STICKY_IP, 80, 'TCP', { spec: { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } } } }),
      service('empty', EMPTY_IP, 80, 'TCP', { nodePort: EMPTY_NODEPORT }),
    ],
    endpoints: [endpoints('web', web), endpoints('dns', udp), endpoints('sticky', ['a', 'b', 'c']), endpoints('empty', [])],
  };
  if (dnsPod) {
    const ports = [
      { name: 'dns', port: 53, protocol: 'UDP' },
      { name: 'dns-tcp', port: 53, protocol: 'TCP' },
    ];
    model.services.push({ metadata: { namespace: 'kube-system', name: 'kube-dns' }, spec: { clusterIP: DNS_IP, ports } } as (typeof model.services)[number]);
    model.endpoints.push({ metadata: { namespace: 'kube-system', name: 'kube-dns' }, subsets: [{ addresses: [{ ip: dnsPod.ip }], ports }] } as (typeof model.endpoints)[number]);
  }
  writeFileSync(`${modelPath}.tmp`, JSON.stringify(model));
  renameSync(`${modelPath}.tmp`, modelPath);
  if (driver?.running) process.kill(driver.pid!, 'SIGHUP');
  else {
    driver = h1.spawn('svcproxy-userspace', [node, fixture('driver.mjs'), modelPath, h1.ip, String(healthPort)], { env: { PILOT_LOG_LEVEL: 'debug' } });
  }
  await driver.waitForLog(`synced generation ${generation}"`, 30_000);
}

async function runClient(from: Host | NetnsPod, mode: 'tcp' | 'udp', ip: string, port: number, n: number): Promise<ClientResult> {
  const r = await from.exec([node, fixture('client.mjs'), mode, ip, String(port), String(n)], { timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new Error(`client ${mode} ${ip}:${port} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ClientResult;
}

/** A connection from the test process (root namespace) with its greeting read. */
async function openFromRoot(ip: string, port: number): Promise<{ s: Socket; name: string; text: () => string; closed: Promise<void> }> {
  const s = connect({ host: ip, port });
  s.setEncoding('utf8');
  let buf = '';
  s.on('data', (d: string) => (buf += d));
  s.on('error', () => undefined);
  const closed = new Promise<void>((r) => s.once('close', () => r()));
  await waitFor(() => buf.includes('\n'), { timeoutMs: 10_000, what: `a greeting from ${ip}:${port}` });
  return { s, name: buf.slice(0, buf.indexOf('\n')), text: () => buf, closed };
}

function expectSpread(r: ClientResult, n: number, names: readonly string[]): void {
  expect(r.errors).toEqual({});
  expect(Object.keys(r.counts).sort()).toEqual([...names].sort());
  for (const name of names) {
    const share = r.counts[name]! / n;
    expect(share).toBeGreaterThanOrEqual(0.2);
    expect(share).toBeLessThanOrEqual(0.47);
  }
}

async function natRules(h: Host): Promise<string> {
  return (await h.execOk(['iptables-save'])).stdout;
}

describe('svcproxy userspace mode', () => {
  beforeAll(async () => {
    c = await Cluster.create({ hosts: 2 });
    [h1, h2] = c.hosts as [Host, Host];
    await c.staticPodNetwork([h1, h2]);
    for (const [name, host] of [['a', h1], ['b', h1], ['c', h2]] as const) {
      const pod = await host.addPod();
      backends.push({ name, pod, daemon: pod.spawn(`backend-${name}`, [node, fixture('backend.mjs'), name, String(BACKEND_PORT)]) });
    }
    client = await h1.addPod();
    for (const b of backends) await b.daemon.waitForLog('listening on udp');
    modelPath = `${h1.stateDir}/model.json`;
    healthPort = await h1.freePort();
  });

  afterAll(async () => {
    await c?.teardown();
  });

  it(
    "takes over from the iptables mode: its chains and jumps are removed in the first sync",
    withLogsOnFailure(() => c, async () => {
      // What an iptables-mode svcproxy leaves behind: a KUBE-SERVICES DNAT of
      // the same cluster IP to a dead address, hooked into PREROUTING/OUTPUT.
      const stale = [
        '*nat',
        ':KUBE-SERVICES - [0:0]',
        ':KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]',
        '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        `-A KUBE-SERVICES -d ${WEB_IP}/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O`,
        '-A KUBE-SVC-XPGD46QRK7WJZT7O -p tcp -j DNAT --to-destination 10.1.1.250:1',
        'COMMIT',
        '',
      ].join('\n');
      await h1.execOk(['iptables-restore', '--noflush'], { input: stale });
      await applyModel(['a', 'b', 'c'], ['a', 'b', 'c']);
      const rules = await natRules(h1);
      expect(rules).not.toMatch(/KUBE-SERVICES|KUBE-SVC-/);
      expect(rules).toMatch(new RegExp(`-A KUBE-PORTALS-CONTAINER -d ${WEB_IP.replace(/\./g, '\\.')}/32 .* -j DNAT --to-destination ${h1.ip.replace(/\./g, '\\.')}:\\d+`));
      expect(rules).toMatch(/-A PREROUTING .*-j KUBE-PORTALS-CONTAINER/);
      expect(rules).toMatch(/-A OUTPUT .*-j KUBE-PORTALS-HOST/);
    }),
  );

  it(
    'spreads 300 connections from a pod across the 3 endpoints on both hosts',
    withLogsOnFailure(() => c, async () => {
      expectSpread(await runClient(client, 'tcp', WEB_IP, 80, 300), 300, ['a', 'b', 'c']);
    }),
  );

  it(
    'spreads 300 connections from the host itself',
    withLogsOnFailure(() => c, async () => {
      expectSpread(await runClient(h1, 'tcp', WEB_IP, 80, 300), 300, ['a', 'b', 'c']);
    }),
  );

  it(
    'lets a backend reach itself through its own service (hairpin)',
    withLogsOnFailure(() => c, async () => {
      const a = backends.find((b) => b.name === 'a')!;
      const r = await runClient(a.pod, 'tcp', WEB_IP, 80, 9);
      expect(r.errors).toEqual({});
      expect(Object.keys(r.counts).sort()).toEqual(['a', 'b', 'c']);
    }),
  );

  it(
    'serves the NodePort on the host address to a client outside the host',
    withLogsOnFailure(() => c, async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const conn = await openFromRoot(h1.ip, WEB_NODEPORT);
        seen.add(conn.name);
        conn.s.destroy();
      }
      expect([...seen].sort()).toEqual(['a', 'b', 'c']);
    }),
  );

  it(
    'serves the external IP to another host that routes it here',
    withLogsOnFailure(() => c, async () => {
      await h2.execOk(['ip', 'route', 'replace', `${EXTERNAL_IP}/32`, 'via', h1.ip]);
      const r = await runClient(h2, 'tcp', EXTERNAL_IP, 80, 30);
      expect(r.errors).toEqual({});
      expect(Object.keys(r.counts).sort()).toEqual(['a', 'b', 'c']);
    }),
  );

  it(
    'refuses connections to a service without endpoints at once (ECONNREFUSED, not a timeout)',
    withLogsOnFailure(() => c, async () => {
      expect(await runClient(client, 'tcp', EMPTY_IP, 80, 5)).toEqual({ counts: {}, errors: { ECONNREFUSED: 5 } });
      expect(await runClient(h1, 'tcp', EMPTY_IP, 80, 5)).toEqual({ counts: {}, errors: { ECONNREFUSED: 5 } });
      expect(await runClient(h2, 'tcp', h1.ip, EMPTY_NODEPORT, 5)).toEqual({ counts: {}, errors: { ECONNREFUSED: 5 } });
      expect(await natRules(h1)).toMatch(/-A KUBE-PORTALS-REJECT -d 10\.0\.0\.23\/32 .*default\/empty has no endpoints.* -j REJECT/);
    }),
  );

  it(
    'keeps a client on one endpoint with ClientIP affinity',
    withLogsOnFailure(() => c, async () => {
      const fromPod = await runClient(client, 'tcp', STICKY_IP, 80, 30);
      expect(fromPod.errors).toEqual({});
      expect(Object.values(fromPod.counts)).toEqual([30]);
      const fromHost = await runClient(h1, 'tcp', STICKY_IP, 80, 30);
      expect(Object.values(fromHost.counts)).toEqual([30]);
      // Not an accident of a single-endpoint service: the plain service spreads.
      expect(Object.keys((await runClient(client, 'tcp', WEB_IP, 80, 6)).counts)).toHaveLength(3);
    }),
  );

  it(
    'answers UDP from the service address and follows endpoint changes',
    withLogsOnFailure(() => c, async () => {
      // The client's socket is connected to the service IP: a reply from any
      // other source address would not be delivered, so each count proves the
      // reply came back from UDP_IP:53.
      const before = await runClient(client, 'udp', UDP_IP, 53, 30);
      expect(before.errors).toEqual({});
      expect(Object.keys(before.counts).sort()).toEqual(['a', 'b', 'c']);
      const fromHost = await runClient(h1, 'udp', UDP_IP, 53, 6);
      expect(Object.keys(fromHost.counts).sort()).toEqual(['a', 'b', 'c']);
      await applyModel(['a', 'b', 'c'], ['c']);
      const after = await runClient(client, 'udp', UDP_IP, 53, 20);
      expect(after).toEqual({ counts: { c: 20 }, errors: {} });
      await applyModel(['a', 'b', 'c'], ['a', 'b']);
      const again = await runClient(client, 'udp', UDP_IP, 53, 20);
      expect(again.errors).toEqual({});
      expect(Object.keys(again.counts).sort()).toEqual(['a', 'b']);
    }),
  );

  it(
    'sends no new connections to a removed endpoint while its open connection drains',
    withLogsOnFailure(() => c, async () => {
      const held = await openFromRoot(h1.ip, WEB_NODEPORT);
      const others = ['a', 'b', 'c'].filter((n) => n !== held.name);
      await applyModel(others, ['a', 'b']);
      const r = await runClient(client, 'tcp', WEB_IP, 80, 60);
      expect(r.errors).toEqual({});
      expect(Object.keys(r.counts).sort()).toEqual(others);
      held.s.write('still there');
      await waitFor(() => held.text().endsWith('still there'), { timeoutMs: 10_000, what: 'the drained connection to keep echoing' });
      held.s.end();
      await held.closed;
      await applyModel(['a', 'b', 'c'], ['a', 'b']);
    }),
  );

  it(
    'closes the client when its backend dies mid-stream; new connections go to the others',
    withLogsOnFailure(() => c, async () => {
      const victim = backends.find((b) => b.name === 'c')!;
      let held = await openFromRoot(h1.ip, WEB_NODEPORT);
      for (let i = 0; held.name !== 'c' && i < 10; i++) {
        held.s.destroy();
        held = await openFromRoot(h1.ip, WEB_NODEPORT);
      }
      expect(held.name).toBe('c');
      held.s.write('mid-stream');
      await waitFor(() => held.text().endsWith('mid-stream'), { timeoutMs: 10_000, what: 'echo before the kill' });
      await victim.daemon.kill('SIGKILL');
      await held.closed; // the test times out if the client is never told
      const r = await runClient(client, 'tcp', WEB_IP, 80, 60);
      expect(r.errors).toEqual({});
      expect(Object.keys(r.counts).sort()).toEqual(['a', 'b']);
      victim.daemon.start();
      await victim.daemon.waitForLog(/listening on tcp[\s\S]*--- start #2[\s\S]*listening on tcp/);
    }),
  );

  it(
    'moves on to the next endpoint when one silently drops connection attempts',
    withLogsOnFailure(() => c, async () => {
      // Backend c's pod drops SYNs: each attempt on it costs the first connect
      // timeout (250 ms), then the next endpoint answers. No client fails.
      const c3 = backends.find((b) => b.name === 'c')!;
      const rule = ['INPUT', '-p', 'tcp', '--dport', String(BACKEND_PORT), '-j', 'DROP'];
      await c3.pod.execOk(['iptables', '-I', ...rule]);
      try {
        const r = await runClient(client, 'tcp', WEB_IP, 80, 12);
        expect(r.errors).toEqual({});
        expect(Object.keys(r.counts).sort()).toEqual(['a', 'b']);
        expect(driver.log()).toMatch(/"service":"default\/web","endpoint":"10\.1\.2\.\d+:8080","timeoutMs":250,"err":"connect 10\.1\.2\.\d+:8080 timed out after 250 ms"/);
      } finally {
        await c3.pod.execOk(['iptables', '-D', ...rule]);
      }
    }),
  );

  it(
    'exports per-service connections, bytes and connect failures on /metrics',
    withLogsOnFailure(() => c, async () => {
      const held = await openFromRoot(h1.ip, WEB_NODEPORT);
      const text = await (await fetch(`http://${h1.ip}:${healthPort}/metrics`)).text();
      const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
      expect(value(/svcproxy_userspace_active_connections\{service="default\/web",protocol="TCP"\} (\d+)/)).toBeGreaterThanOrEqual(1);
      expect(value(/svcproxy_userspace_bytes_total\{service="default\/web",protocol="TCP",direction="out"\} (\d+)/)).toBeGreaterThan(600);
      expect(value(/svcproxy_userspace_bytes_total\{service="default\/dns",protocol="UDP",direction="in"\} (\d+)/)).toBeGreaterThan(0);
      // The killed backend was tried (and refused) at least once before the others took over.
      expect(value(/svcproxy_userspace_connect_failures_total\{service="default\/web"\} (\d+)/)).toBeGreaterThanOrEqual(1);
      expect((await fetch(`http://${h1.ip}:${healthPort}/healthz`)).status).toBe(200);
      held.s.destroy();
    }),
  );

  it(
    'keeps its jumps once at the top of the built-in chains across syncs',
    withLogsOnFailure(() => c, async () => {
      await applyModel(['a', 'b', 'c'], ['a', 'b', 'c']);
      const saved = parseSave(await natRules(h1));
      for (const spec of USERSPACE_JUMPS) {
        const current = (saved.get(spec.table)?.rules ?? []).filter((r) => r.chain === spec.chain).map((r) => r.args);
        // Nothing to fix: the saved form equals what a sync writes, so syncs do not churn the chain.
        expect({ chain: `${spec.table}/${spec.chain}`, fix: jumpFixLines(spec, current) }).toEqual({ chain: `${spec.table}/${spec.chain}`, fix: [] });
      }
    }),
  );

  it(
    'lets a pod resolve an outside name through dnsd behind 10.0.0.10 (UDP and TCP)',
    withLogsOnFailure(() => c, async () => {
      // dnsd in a pod on host 2 with knotd as its upstream (authoritative for
      // example.test, on the pod's 127.0.0.2). The proxy on host 1 reaches it
      // from host 1's node address, so dnsd's recursion rule must allow the
      // node network as well as the pod network.
      const pod = await h2.addPod();
      const kdir = `${h2.stateDir}/knot`;
      mkdirSync(`${kdir}/db`, { recursive: true });
      writeFileSync(`${kdir}/example.test.zone`, '$TTL 60\n@ IN SOA ns.example.test. hostmaster.example.test. 1 7200 1800 86400 30\n@ IN NS ns.example.test.\nns IN A 127.0.0.2\nwww IN A 192.0.2.80\n');
      writeFileSync(
        `${kdir}/knot.conf`,
        `server:\n  listen: 127.0.0.2@5300\n  rundir: ${kdir}\ndatabase:\n  storage: ${kdir}/db\nzone:\n  - domain: example.test\n    storage: ${kdir}\n    file: example.test.zone\nlog:\n  - target: stderr\n    any: info\n`,
      );
      await pod.execOk(['ip', 'addr', 'add', '127.0.0.2/8', 'dev', 'lo']);
      pod.spawn('knotd', ['knotd', '-c', `${kdir}/knot.conf`]);
      const records = `${h2.stateDir}/records.json`;
      writeFileSync(
        records,
        JSON.stringify({
          kind: 'List',
          items: [
            { kind: 'Namespace', metadata: { name: 'default' } },
            { kind: 'Service', metadata: { namespace: 'default', name: 'web' }, spec: { clusterIP: WEB_IP, ports: [{ port: 80, protocol: 'TCP' }] } },
          ],
        }),
      );
      const dnsd = pod.spawn('dnsd', [
        node, DNSD, '--records', records, '--listen', '0.0.0.0:53', '--advertise-address', pod.ip,
        '--upstream', '127.0.0.2:5300', '--allow-recursion', `10.1.0.0/16,${c.underlay.toString()}`,
      ]);
      await dnsd.waitForLog('dnsd listening', 20_000);
      dnsPod = pod;
      await applyModel(['a', 'b', 'c'], ['a', 'b']);

      const client2 = await h1.addPod({ dns: { nameserver: DNS_IP, search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], ndots: 5 } });
      // libc over UDP: the outside name (forwarded upstream) and a service by its short name.
      await waitFor(async () => (await client2.exec(['getent', 'ahostsv4', 'www.example.test'])).stdout.split(/\s+/)[0] === '192.0.2.80', {
        timeoutMs: 15_000,
        what: 'www.example.test to resolve through 10.0.0.10',
      });
      expect((await client2.exec(['getent', 'ahostsv4', 'web'])).stdout.split(/\s+/)[0]).toBe(WEB_IP);
      // Over TCP, with dig.
      const tcp = await client2.exec(['dig', `@${DNS_IP}`, '+tcp', '+tries=1', '+time=4', 'www.example.test', 'A'], { timeoutMs: 20_000 });
      expect(tcp.stdout).toMatch(/status: NOERROR/);
      expect(tcp.stdout).toMatch(/^www\.example\.test\.\s+\d+\s+IN\s+A\s+192\.0\.2\.80$/m);
    }),
  );

  it(
    'refuses new connections with a log line when out of file descriptors, and recovers',
    withLogsOnFailure(() => c, async () => {
      // A second proxier on host 2, whose descriptor limit is lowered once it
      // runs: a few connections fit, the rest must be refused without a crash.
      const path = `${h2.stateDir}/model.json`;
      const fdModel = {
        generation: 1,
        services: [service('fd', '10.0.0.30', 80, 'TCP', { nodePort: 30090 })],
        endpoints: [endpoints('fd', ['c'])],
      };
      writeFileSync(path, JSON.stringify(fdModel));
      // 'auto': the listen address comes from the host's default route (h2's underlay IP).
      const d = h2.spawn('svcproxy-userspace-fd', [node, fixture('driver.mjs'), path, 'auto', String(await h2.freePort())]);
      await d.waitForLog('synced generation 1"');
      expect(d.log()).toContain(`"listen":"${h2.ip}:`);
      const inUse = readdirSync(`/proc/${d.pid}/fd`).length;
      const soft = (await h2.execOk(['prlimit', `--pid=${d.pid}`, '--nofile', '--raw', '--noheadings', '--output=SOFT'])).stdout.trim();
      // Only the soft limit moves (lowering the hard one could not be undone).
      await h2.execOk(['prlimit', `--pid=${d.pid}`, `--nofile=${inUse + 10}:`]);
      const conns = await Promise.all(
        Array.from({ length: 30 }, async () => {
          const s = connect({ host: h2.ip, port: 30090 });
          s.setEncoding('utf8');
          let buf = '';
          s.on('data', (x: string) => (buf += x));
          s.on('error', () => undefined);
          const outcome = await new Promise<'greeted' | 'closed'>((resolve) => {
            s.on('data', () => buf.includes('\n') && resolve('greeted'));
            s.once('close', () => resolve(buf.includes('\n') ? 'greeted' : 'closed'));
          });
          return { s, outcome };
        }),
      );
      const greeted = conns.filter((x) => x.outcome === 'greeted').length;
      expect(greeted).toBeGreaterThanOrEqual(1);
      expect(greeted).toBeLessThan(30);
      // Refused at accept (libuv closes those silently) or at the backend
      // connect: either way the operator gets a line naming the cause.
      await d.waitForLog(/out of file descriptors \(EMFILE\)/);
      expect(d.running).toBe(true);
      for (const x of conns) x.s.destroy();
      await h2.execOk(['prlimit', `--pid=${d.pid}`, `--nofile=${soft}:`]);
      await d.waitForLog(/file descriptors available again/);
      // Descriptors free again: the same proxy serves new connections.
      await waitFor(
        async () => {
          const r = await runClient(c.hosts[0]!, 'tcp', h2.ip, 30090, 1);
          return r.counts.c === 1;
        },
        { timeoutMs: 10_000, what: 'the proxy to serve again after the overload' },
      );
      expect(d.running).toBe(true);
      await d.stop();
    }),
  );
});

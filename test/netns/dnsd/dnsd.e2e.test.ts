import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { run, waitFor, writeFileAtomic } from '@pilot/common';
import type { KubeObject } from '@pilot/api';
import { Cluster, startControlPlane, withLogsOnFailure, type ControlPlane, type Daemon, type Host } from '@pilot/netns';
import { parseDig, type DigResult } from './dig.js';

/**
 * dnsd (the compiled bin) in host h1 with knotd as the upstream on h1's
 * loopback, queried with the real dig from h2 (another host: not allowed to
 * recurse), from h1's loopback and from a pod. The whole suite runs twice:
 * with the objects created through a real `pilot apiserver` (TLS, dnsd's
 * kubeconfig) and with the same objects in a records file (the static source).
 */

const DNSD = fileURLToPath(new URL('../../../packages/dnsd/dist/bin/dnsd.js', import.meta.url));
const SLOW_TCP = fileURLToPath(new URL('./fixtures/slow-tcp.mjs', import.meta.url));
const Z = 'cluster.local';
const UPSTREAM = '127.0.0.2';
const UPSTREAM_PORT = 5300;

function objects(extra: object[] = []): object[] {
  const big = Array.from({ length: 100 }, (_, i) => ({ ip: `10.1.${10 + Math.floor(i / 200)}.${(i % 200) + 1}`, hostname: `web-${i}` }));
  return [
    { kind: 'Namespace', metadata: { name: 'default' } },
    { kind: 'Service', metadata: { name: 'frontend', namespace: 'default' }, spec: { clusterIP: '10.0.0.50', ports: [{ name: 'http', port: 8888, protocol: 'TCP' }] } },
    { kind: 'Service', metadata: { name: 'v6', namespace: 'default' }, spec: { clusterIP: 'fd00::50', clusterIPs: ['fd00::50'], ports: [{ name: 'http', port: 80 }] } },
    { kind: 'Service', metadata: { name: 'db', namespace: 'default' }, spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] } },
    {
      kind: 'Endpoints',
      metadata: { name: 'db', namespace: 'default' },
      subsets: [{ addresses: [{ ip: '10.1.1.5', hostname: 'db-0' }, { ip: '10.1.2.6' }], ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }],
    },
    { kind: 'Service', metadata: { name: 'empty', namespace: 'default' }, spec: { clusterIP: 'None' } },
    { kind: 'Service', metadata: { name: 'big', namespace: 'default' }, spec: { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] } },
    { kind: 'Endpoints', metadata: { name: 'big', namespace: 'default' }, subsets: [{ addresses: big, ports: [{ name: 'http', port: 80 }] }] },
    { kind: 'Service', metadata: { name: 'ext', namespace: 'default' }, spec: { type: 'ExternalName', externalName: 'www.example.test' } },
    ...extra,
  ];
}

const ZONE_FILE = `$TTL 60
@ IN SOA ns.example.test. hostmaster.example.test. 1 7200 1800 86400 30
@ IN NS ns.example.test.
ns IN A ${UPSTREAM}
www IN A 192.0.2.80
cached IN A 192.0.2.81
other IN A 192.0.2.82
`;

const nameOf = (o: object) => (o as KubeObject).metadata.name!;
const isService = (o: object) => (o as KubeObject).kind === 'Service';

/** Where dnsd's objects come from, and how the add/remove test changes them. */
interface Source {
  name: string;
  /** Whether it can hold an IPv6 ClusterIP service (pilot's service network is IPv4, so the apiserver cannot). */
  ipv6: boolean;
  /** Sets up the source; returns dnsd's flags for it. */
  start(c: Cluster, h1: Host): Promise<string[]>;
  /** Makes the served objects exactly `items` (of the ones this suite uses). */
  set(items: object[]): Promise<void>;
}

function fileSource(): Source {
  let path = '';
  return {
    name: 'a records file',
    ipv6: true,
    async start(_c, h1) {
      path = `${h1.stateDir}/records.json`;
      writeFileSync(path, JSON.stringify({ kind: 'List', items: objects() }));
      return ['--records', path];
    },
    set: (items) => writeFileAtomic(path, JSON.stringify({ kind: 'List', items })),
  };
}

function apiSource(): Source {
  let cp: ControlPlane;
  let current = new Map<string, object>();
  const key = (o: object) => `${(o as KubeObject).kind}/${nameOf(o)}`;
  // `default` exists (bootstrap) and the service network has no IPv6 range.
  const servable = (items: object[]) => items.filter((o) => (o as KubeObject).kind !== 'Namespace' && nameOf(o) !== 'v6');
  const resource = (o: object) => ((o as KubeObject).kind === 'Service' ? 'services' : 'endpoints');
  const create = (o: object) => cp.client.create(resource(o), { ...(o as KubeObject), apiVersion: 'v1' }, { namespace: 'default' });
  return {
    name: 'objects created through the apiserver',
    ipv6: false,
    async start(c, h1) {
      cp = await startControlPlane(c);
      // Services first, so endpoints have a service.
      const items = servable(objects());
      for (const o of [...items.filter(isService), ...items.filter((o) => !isService(o))]) await create(o);
      current = new Map(items.map((o) => [key(o), o]));
      return ['--kubeconfig', cp.kubeconfigFor(h1)];
    },
    async set(items) {
      const want = new Map(servable(items).map((o) => [key(o), o]));
      for (const [k, o] of current) if (!want.has(k)) await cp.client.delete(resource(o), nameOf(o), { namespace: 'default' });
      for (const [k, o] of want) if (!current.has(k)) await create(o);
      current = want;
    },
  };
}

describe.each([apiSource(), fileSource()])('dnsd answers dig, serving $name', (source) => {
  let c: Cluster | undefined;
  let h1: Host;
  let h2: Host;
  let dnsd: Daemon;
  let knot: Daemon;
  let knotConf: string;

  const digAt = async (from: Host, server: string, args: string[]): Promise<DigResult> => {
    const r = await from.exec(['dig', `@${server}`, '+tries=1', '+time=4', ...args], { timeoutMs: 20_000 });
    return parseDig(r.stdout);
  };
  /** From h2: another host, not in --allow-recursion. */
  const dig = (...args: string[]) => digAt(h2, h1.ip, args);
  /** From h1's loopback: allowed to recurse. */
  const digLocal = (...args: string[]) => digAt(h1, '127.0.0.1', args);

  beforeAll(async () => {
    c = await Cluster.create({ hosts: 2, etcd: true });
    [h1, h2] = c.hosts as [Host, Host];
    mkdirSync(h1.stateDir, { recursive: true });
    const sourceFlags = await source.start(c, h1);

    // The upstream: knotd on h1's loopback, authoritative for example.test.
    const kdir = `${h1.stateDir}/knot`;
    mkdirSync(`${kdir}/db`, { recursive: true });
    writeFileSync(`${kdir}/example.test.zone`, ZONE_FILE);
    knotConf = `${kdir}/knot.conf`;
    writeFileSync(
      knotConf,
      `server:\n  listen: ${UPSTREAM}@${UPSTREAM_PORT}\n  rundir: ${kdir}\ndatabase:\n  storage: ${kdir}/db\nzone:\n  - domain: example.test\n    storage: ${kdir}\n    file: example.test.zone\nlog:\n  - target: stderr\n    any: info\n`,
    );
    await h1.execOk(['ip', 'addr', 'add', `${UPSTREAM}/8`, 'dev', 'lo']).catch(() => undefined);
    knot = h1.spawn('knotd', ['knotd', '-c', knotConf]);

    dnsd = h1.spawn('dnsd', [
      process.execPath,
      DNSD,
      ...sourceFlags,
      '--listen',
      '0.0.0.0:53',
      '--advertise-address',
      h1.ip,
      '--upstream',
      `${UPSTREAM}:${UPSTREAM_PORT}`,
      '--forward-timeout',
      '1s',
      '--allow-recursion',
      '127.0.0.0/8,10.1.0.0/16',
      '--healthz-port',
      '9153',
    ]);
    await dnsd.waitForLog('dnsd listening', 20_000);
    await waitFor(async () => (await digLocal(`www.example.test`)).status === 'NOERROR', { timeoutMs: 15_000, what: 'knotd answering through dnsd' });
  }, 120_000);

  afterAll(async () => {
    await c?.teardown();
  });

  const get = () => c;

  it(
    'serves every record type of the spec',
    withLogsOnFailure(get, async () => {
      const a = await dig(`frontend.default.svc.${Z}`, 'A');
      expect(a.status).toBe('NOERROR');
      expect(a.flags).toContain('aa');
      expect(a.answer).toEqual([{ name: `frontend.default.svc.${Z}.`, ttl: 5, type: 'A', data: '10.0.0.50' }]);

      if (source.ipv6) expect((await dig(`v6.default.svc.${Z}`, 'AAAA')).answer.map((r) => r.data)).toEqual(['fd00::50']);
      expect((await dig(`db.default.svc.${Z}`, 'A')).answer.map((r) => r.data).sort()).toEqual(['10.1.1.5', '10.1.2.6']);
      expect((await dig(`db-0.db.default.svc.${Z}`, 'A')).answer.map((r) => r.data)).toEqual(['10.1.1.5']);
      expect((await dig(`10-1-2-6.db.default.svc.${Z}`, 'A')).answer.map((r) => r.data)).toEqual(['10.1.2.6']);

      const srv = await dig(`_http._tcp.frontend.default.svc.${Z}`, 'SRV');
      expect(srv.answer.map((r) => r.data)).toEqual([`0 100 8888 frontend.default.svc.${Z}.`]);
      expect(srv.additional.map((r) => `${r.name} ${r.data}`)).toEqual([`frontend.default.svc.${Z}. 10.0.0.50`]);
      const hsrv = await dig(`_pg._tcp.db.default.svc.${Z}`, 'SRV');
      expect(hsrv.answer.map((r) => r.data).sort()).toEqual([`0 50 5432 10-1-2-6.db.default.svc.${Z}.`, `0 50 5432 db-0.db.default.svc.${Z}.`]);

      expect((await dig('-x', '10.0.0.50')).answer.map((r) => r.data)).toEqual([`frontend.default.svc.${Z}.`]);
      expect((await dig('-x', '10.1.1.5')).answer.map((r) => r.data)).toEqual([`db-0.db.default.svc.${Z}.`]);
      expect((await dig(`ext.default.svc.${Z}`, 'CNAME')).answer.map((r) => `${r.type} ${r.data}`)).toEqual(['CNAME www.example.test.']);
      const txt = await dig(`dns-version.${Z}`, 'TXT');
      expect(txt.answer).toEqual([{ name: `dns-version.${Z}.`, ttl: 28800, type: 'TXT', data: '"1.1.0"' }]);
      expect((await dig(`10-1-7-7.default.pod.${Z}`, 'A')).answer.map((r) => r.data)).toEqual(['10.1.7.7']);
      // Case-insensitive, answered in the question's case.
      expect((await dig(`FrontEnd.DEFAULT.svc.${Z}`, 'A')).answer.map((r) => `${r.name} ${r.data}`)).toEqual([`FrontEnd.DEFAULT.svc.${Z}. 10.0.0.50`]);
    }),
  );

  it(
    'rotates a headless Service’s A records on every answer (CoreDNS’s loadbalance), over UDP and TCP',
    withLogsOnFailure(get, async () => {
      for (const transport of [[], ['+tcp']]) {
        const answers: string[][] = [];
        for (let i = 0; i < 3; i++) answers.push((await dig(`db.default.svc.${Z}`, 'A', ...transport)).answer.map((r) => r.data));
        for (const [i, a] of answers.entries()) {
          expect([...a].sort()).toEqual(['10.1.1.5', '10.1.2.6']);
          // Each answer is the previous one rotated by one record.
          if (i > 0) expect(a).toEqual([...answers[i - 1]!.slice(1), answers[i - 1]![0]]);
        }
      }
    }),
  );

  it(
    'tells NXDOMAIN from NODATA, with the zone SOA in the authority section of both',
    withLogsOnFailure(get, async () => {
      const soa = (r: DigResult) => r.authority.map((a) => `${a.name} ${a.type} ${a.data.replace(/ \d{9,} /, ' SERIAL ')}`);
      const want = [`${Z}. SOA ns.dns.${Z}. hostmaster.${Z}. SERIAL 7200 1800 86400 5`];
      for (const [name, type, status] of [
        [`nope.default.svc.${Z}`, 'A', 'NXDOMAIN'],
        [`frontend.nowhere.svc.${Z}`, 'A', 'NXDOMAIN'],
        [`empty.default.svc.${Z}`, 'A', 'NXDOMAIN'],
        [`frontend.default.svc.${Z}`, 'AAAA', 'NOERROR'],
        [`frontend.default.svc.${Z}`, 'TXT', 'NOERROR'],
        [`default.svc.${Z}`, 'A', 'NOERROR'],
      ] as const) {
        const r = await dig(name, type);
        expect(`${name} ${type} ${r.status}`).toBe(`${name} ${type} ${status}`);
        expect(r.answer).toEqual([]);
        expect(r.flags).toContain('aa');
        expect(soa(r)).toEqual(want);
      }
    }),
  );

  it(
    'truncates a 100-endpoint headless answer with TC; dig retries over TCP and gets all of it; EDNS0 size is honoured',
    withLogsOnFailure(get, async () => {
      const noedns = await dig('+noedns', `big.default.svc.${Z}`, 'A');
      expect(noedns.retriedTcp).toBe(true);
      expect(noedns.answer).toHaveLength(100);

      const edns = await dig('+bufsize=4096', `big.default.svc.${Z}`, 'A');
      expect(edns.retriedTcp).toBe(false);
      expect(edns.answer).toHaveLength(100);
      expect(edns.ednsUdp).toBe(4096);

      // +ignore shows the truncated UDP answer itself.
      const cut = await dig('+noedns', '+ignore', `big.default.svc.${Z}`, 'A');
      expect(cut.flags).toContain('tc');
      expect(cut.answer.length).toBeGreaterThan(0);
      expect(cut.answer.length).toBeLessThan(100);

      const tcp = await dig('+tcp', `big.default.svc.${Z}`, 'A');
      expect(tcp.answer).toHaveLength(100);

      // Only EDNS version 0 is spoken.
      const badvers = await dig('+edns=1', '+noednsnegotiation', `frontend.default.svc.${Z}`, 'A');
      expect(badvers.status).toBe('BADVERS');
    }),
  );

  it(
    'forwards other names to the upstream for allowed sources and refuses everyone else',
    withLogsOnFailure(get, async () => {
      const fwd = await digLocal('www.example.test', 'A');
      expect(fwd.status).toBe('NOERROR');
      expect(fwd.answer.map((r) => r.data)).toEqual(['192.0.2.80']);
      const nx = await digLocal('nothing.example.test', 'A');
      expect(nx.status).toBe('NXDOMAIN');
      expect(nx.authority.map((r) => r.type)).toEqual(['SOA']);

      const chased = await digLocal(`ext.default.svc.${Z}`, 'A');
      expect(chased.answer.map((r) => `${r.type} ${r.data}`)).toEqual(['CNAME www.example.test.', 'A 192.0.2.80']);

      const refused = await dig('www.example.test', 'A');
      expect(refused.status).toBe('REFUSED');
      expect(refused.answer).toEqual([]);
      // The cluster zone is still answered to that source.
      expect((await dig(`frontend.default.svc.${Z}`, 'A')).status).toBe('NOERROR');
    }),
  );

  it(
    'a pod with the cluster search path and ndots:5 resolves short names, and external names through dnsd',
    withLogsOnFailure(get, async () => {
      await h1.configureBridge('10.1.5.1/24');
      const pod = await h1.addPod({ dns: { nameserver: h1.ip, search: [`default.svc.${Z}`, `svc.${Z}`, Z], ndots: 5 } });
      for (const name of ['frontend', 'frontend.default', `frontend.default.svc.${Z}`]) {
        const r = await pod.exec(['getent', 'ahostsv4', name]);
        expect(`${name}: ${r.stdout.split('\n')[0]?.split(/\s+/)[0]}`).toBe(`${name}: 10.0.0.50`);
      }
      const ext = await pod.exec(['getent', 'ahostsv4', 'www.example.test']);
      expect(ext.stdout.split(/\s+/)[0]).toBe('192.0.2.80');
      // An ExternalName service: dnsd follows the CNAME upstream for the pod.
      const alias = await pod.exec(['getent', 'ahostsv4', 'ext']);
      expect(alias.stdout.split(/\s+/)[0]).toBe('192.0.2.80');
    }),
  );

  it(
    'answers SERVFAIL, not silence, when the upstream is down — and keeps serving cached answers',
    withLogsOnFailure(get, async () => {
      expect((await digLocal('cached.example.test', 'A')).answer.map((r) => r.data)).toEqual(['192.0.2.81']);
      await knot.stop();
      const fail = await digLocal('other.example.test', 'A');
      expect(fail.status).toBe('SERVFAIL');
      const cached = await digLocal('cached.example.test', 'A');
      expect(cached.status).toBe('NOERROR');
      expect(cached.answer.map((r) => r.data)).toEqual(['192.0.2.81']);
      expect(cached.answer[0]!.ttl).toBeLessThanOrEqual(60);
      await knot.restart();
      await waitFor(async () => (await digLocal('other.example.test', 'A')).status === 'NOERROR', { timeoutMs: 15_000, what: 'upstream back' });
    }),
  );

  it(
    'a new service becomes resolvable and a deleted one goes away (polled)',
    withLogsOnFailure(get, async () => {
      const extra = { kind: 'Service', metadata: { name: 'newcomer', namespace: 'default' }, spec: { clusterIP: '10.0.0.77', ports: [{ name: 'http', port: 80 }] } };
      expect((await dig(`newcomer.default.svc.${Z}`, 'A')).status).toBe('NXDOMAIN');
      await source.set(objects([extra]));
      await waitFor(async () => (await dig(`newcomer.default.svc.${Z}`, 'A')).answer[0]?.data === '10.0.0.77', { timeoutMs: 15_000, what: 'newcomer resolvable' });
      await source.set(objects().filter((o) => nameOf(o) !== 'frontend'));
      await waitFor(async () => (await dig(`newcomer.default.svc.${Z}`, 'A')).status === 'NXDOMAIN', { timeoutMs: 15_000, what: 'newcomer gone' });
      await waitFor(async () => (await dig(`frontend.default.svc.${Z}`, 'A')).status === 'NXDOMAIN', { timeoutMs: 15_000, what: 'frontend gone' });
      await source.set(objects());
      await waitFor(async () => (await dig(`frontend.default.svc.${Z}`, 'A')).status === 'NOERROR', { timeoutMs: 15_000, what: 'frontend back' });
    }),
  );

  it(
    'keeps answering over TCP while 1,000 slow senders hold connections, and closes them',
    withLogsOnFailure(get, async () => {
      // From h2: 1,000 connections that each promise a message and drip one
      // byte a second, reopened when closed. Before the per-message read
      // deadline they held every TCP slot and dig +tcp was refused.
      const slow = h2.spawn('slow-tcp', [process.execPath, SLOW_TCP, h1.ip, '53', '1000', '1000', '90']);
      try {
        await slow.waitForLog('opened 1000', 60_000);
        await waitFor(async () => (await dig('+tcp', `frontend.default.svc.${Z}`, 'A')).answer.map((r) => r.data).join() === '10.0.0.50', {
          timeoutMs: 30_000,
          what: 'dig +tcp answering under 1,000 slow senders',
        });
        await slow.waitForLog(/closed (1\d{3}|[2-9]\d{3,})/, 30_000);
        const metrics = await h1.execOk(['curl', '-s', 'http://127.0.0.1:9153/metrics']);
        expect(metrics.stdout).toMatch(/dnsd_tcp_closed_total\{reason="read-timeout"\} [1-9]/);
      } finally {
        await slow.stop();
      }
    }),
    150_000,
  );

  it(
    'binds UDP per concrete address (never 0.0.0.0) and serves TCP on all addresses',
    withLogsOnFailure(get, async () => {
      const udp = (await h1.execOk(['ss', '-Hulnp', 'sport', '=', ':53'])).stdout;
      const locals = [...udp.matchAll(/\s(\S+):53\s/g)].map((m) => m[1]).sort();
      expect(locals).toEqual([h1.ip, '127.0.0.1'].sort());
      const tcp = (await h1.execOk(['ss', '-Htlnp', 'sport', '=', ':53'])).stdout;
      expect(tcp).toMatch(/(0\.0\.0\.0|\*|\[::\]):53\s/);
    }),
  );

  it(
    'survives a batch of random and mutated packets over UDP and TCP, then still answers',
    withLogsOnFailure(get, async () => {
      let seed = 0x5eed;
      const rnd = () => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed / 0x7fffffff;
      };
      const base = Buffer.from('abcd01000001000000000000086672' + '6f6e74656e640764656661756c740373766307636c7573746572056c6f63616c0000010001', 'hex');
      const sock = createSocket('udp4');
      for (let i = 0; i < 3000; i++) {
        let p: Buffer;
        if (i % 3 === 0) {
          p = Buffer.alloc(Math.floor(rnd() * 120));
          for (let j = 0; j < p.length; j++) p[j] = Math.floor(rnd() * 256);
        } else {
          p = Buffer.from(base);
          for (let j = 0; j < 3; j++) p[Math.floor(rnd() * p.length)] = Math.floor(rnd() * 256);
          if (i % 5 === 0) p = p.subarray(0, Math.floor(rnd() * p.length));
        }
        await new Promise<void>((resolve) => sock.send(p, 53, h1.ip, () => resolve()));
      }
      sock.close();
      for (let i = 0; i < 30; i++) {
        await new Promise<void>((resolve) => {
          const s = connect({ host: h1.ip, port: 53 }, () => {
            const junk = Buffer.alloc(Math.floor(rnd() * 300));
            for (let j = 0; j < junk.length; j++) junk[j] = Math.floor(rnd() * 256);
            s.end(junk);
          });
          s.on('error', () => resolve());
          s.on('close', () => resolve());
        });
      }
      expect(dnsd.running).toBe(true);
      const after = await dig(`frontend.default.svc.${Z}`, 'A');
      expect(after.answer.map((r) => r.data)).toEqual(['10.0.0.50']);
      expect((await dig('+tcp', `frontend.default.svc.${Z}`, 'A')).answer.map((r) => r.data)).toEqual(['10.0.0.50']);
    }),
  );

  it(
    'serves /healthz and /metrics with queries by type and rcode, cache and upstream counters',
    withLogsOnFailure(get, async () => {
      const health = await run(['curl', '-sf', `http://${h1.ip}:9153/healthz`], { check: false });
      expect(health.stdout).toMatch(/^ok/);
      const m = (await run(['curl', '-sf', `http://${h1.ip}:9153/metrics`])).stdout;
      expect(m).toMatch(/dnsd_queries_total\{type="A",rcode="NOERROR",transport="udp"\} \d+/);
      expect(m).toMatch(/dnsd_queries_total\{type="A",rcode="NXDOMAIN",transport="udp"\} \d+/);
      expect(m).toMatch(/dnsd_cache_requests_total\{cache="answer",result="hit"\} \d+/);
      expect(m).toMatch(/dnsd_upstream_failures_total\{upstream="127\.0\.0\.2:5300"\} [1-9]/);
      expect(m).toMatch(/dnsd_index_objects\{kind="services"\} \d+/);
      expect(m).toMatch(/dnsd_request_duration_seconds_bucket/);
      expect(m).toMatch(/^dnsd_build_info\{version="[^"]+",git_commit="([0-9a-f]{40}|unknown)",.*\} 1$/m);
    }),
  );

  it(
    'also answers as CoreDNS on the same port: /health, /ready, and its metric names with the same counts as dnsd_*',
    withLogsOnFailure(get, async () => {
      expect((await run(['curl', '-sf', `http://${h1.ip}:9153/health`])).stdout).toBe('OK\n');
      expect((await run(['curl', '-sf', `http://${h1.ip}:9153/ready`])).stdout).toMatch(/^ok/);
      // One scrape, so both names are read at the same instant.
      const m = (await run(['curl', '-sf', `http://${h1.ip}:9153/metrics`])).stdout;
      const sum = (re: RegExp) => [...m.matchAll(re)].reduce((n, x) => n + Number(x[1]), 0);
      const dnsdQueries = sum(/^dnsd_queries_total\{[^}]*\} (\d+)$/gm);
      expect(dnsdQueries).toBeGreaterThan(0);
      expect(sum(/^coredns_dns_requests_total\{[^}]*\} (\d+)$/gm)).toBe(dnsdQueries);
      expect(sum(/^coredns_dns_responses_total\{[^}]*\} (\d+)$/gm)).toBe(dnsdQueries);
      expect(sum(/^coredns_dns_request_duration_seconds_count\{[^}]*\} (\d+)$/gm)).toBe(dnsdQueries);
      expect(m).toMatch(/^coredns_dns_requests_total\{server="dns:\/\/:53",zone="\.",view="",proto="udp",family="1",type="A"\} [1-9]\d*$/m);
      expect(m).toMatch(/^coredns_dns_responses_total\{server="dns:\/\/:53",zone="\.",view="",rcode="NXDOMAIN",plugin="kubernetes"\} [1-9]\d*$/m);
      expect(sum(/^coredns_cache_hits_total\{[^}]*\} (\d+)$/gm)).toBe(sum(/^dnsd_cache_requests_total\{cache="(?:answer|forward)",result="hit"\} (\d+)$/gm));
      expect(m).toMatch(/^coredns_cache_entries\{server="dns:\/\/:53",type="success",zones="\.",view=""\} \d+$/m);
      expect(m).toMatch(/^coredns_forward_requests_total\{to="127\.0\.0\.2:5300"\} [1-9]\d*$/m);
      expect(m).toMatch(/^coredns_build_info\{version="dnsd-[^"]+",revision="[^"]+",goversion="node-v[^"]+"\} 1$/m);
    }),
  );
});

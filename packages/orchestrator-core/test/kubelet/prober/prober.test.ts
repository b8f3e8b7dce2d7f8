import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { initialResult, recordOutcome, type ProbeCounter } from '../../../src/kubelet/prober/manager.js';
import { PROBE_USER_AGENT, resolvePort, runProbe } from '../../../src/kubelet/prober/prober.js';
import { FakeRuntime } from '../../../src/kubelet/runtime/fake.js';

describe('probe thresholds (worker.go)', () => {
  it('readiness starts failed and turns ready after successThreshold successes, unready after failureThreshold failures', () => {
    const c: ProbeCounter = { last: undefined, run: 0, result: initialResult('readiness') };
    const probe = { successThreshold: 2, failureThreshold: 3 };
    expect(c.result).toBe('failure');
    expect([recordOutcome(c, 'success', probe), recordOutcome(c, 'success', probe)]).toEqual([false, true]);
    expect(c.result).toBe('success');
    expect([recordOutcome(c, 'failure', probe), recordOutcome(c, 'failure', probe), recordOutcome(c, 'success', probe)]).toEqual([false, false, false]);
    expect(c.result).toBe('success');
    expect([1, 2, 3].map(() => recordOutcome(c, 'failure', probe))).toEqual([false, false, true]);
    expect(c.result).toBe('failure');
  });
  it('liveness starts healthy; startup starts unknown', () => {
    expect(initialResult('liveness')).toBe('success');
    expect(initialResult('startup')).toBeUndefined();
  });
});

describe('running a probe', () => {
  let http: Server;
  let port: number;
  const seen: Array<{ url?: string; ua?: string; x?: string }> = [];
  beforeAll(async () => {
    http = createHttpServer((req, res) => {
      seen.push({ url: req.url, ua: req.headers['user-agent'], x: req.headers['x-probe'] as string });
      res.writeHead(req.url === '/healthz' ? 200 : req.url === '/moved' ? 302 : 500).end('body');
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    port = (http.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => http.close(() => r())));

  const c = { name: 'app', ports: [{ name: 'web', containerPort: 8080 }] };

  it('resolves named ports from the container’s ports', () => {
    expect([resolvePort(80, c), resolvePort('8081', c), resolvePort('web', c), resolvePort('nope', c)]).toEqual([80, 8081, 8080, undefined]);
  });

  it('httpGet: 2xx and 3xx succeed, with kube-probe’s User-Agent and the given headers; others fail with the status code', async () => {
    const probe = (path: string) => ({ httpGet: { path, port, httpHeaders: [{ name: 'X-Probe', value: 'yes' }] }, timeoutSeconds: 1 });
    expect(await runProbe(new FakeRuntime(), probe('/healthz'), c, 'id', '127.0.0.1')).toEqual({ ok: true, output: 'body' });
    expect((await runProbe(new FakeRuntime(), probe('/moved'), c, 'id', '127.0.0.1')).ok).toBe(true);
    expect(await runProbe(new FakeRuntime(), probe('/broken'), c, 'id', '127.0.0.1')).toEqual({ ok: false, output: 'HTTP probe failed with statuscode: 500' });
    expect(seen[0]).toEqual({ url: '/healthz', ua: PROBE_USER_AGENT, x: 'yes' });
  });

  it('tcpSocket: a listener succeeds, a closed port fails with the dial error', async () => {
    const tcp = createTcpServer((s) => s.destroy());
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const open = (tcp.address() as AddressInfo).port;
    expect((await runProbe(new FakeRuntime(), { tcpSocket: { port: open } }, c, 'id', '127.0.0.1')).ok).toBe(true);
    await new Promise<void>((r) => tcp.close(() => r()));
    expect(await runProbe(new FakeRuntime(), { tcpSocket: { port: open } }, c, 'id', '127.0.0.1')).toEqual({ ok: false, output: `dial tcp 127.0.0.1:${open}: connect: connection refused` });
  });

  it('exec: exit 0 succeeds; otherwise the output (or the exit code) is the failure', async () => {
    const rt = new FakeRuntime();
    const sb = await rt.runPodSandbox({ metadata: { name: 'p', namespace: 'ns', uid: 'u', attempt: 0 } });
    rt.addImage('busybox');
    const id = await rt.createContainer(sb, { metadata: { name: 'app', attempt: 0 }, image: 'busybox' }, { metadata: { name: 'p', namespace: 'ns', uid: 'u', attempt: 0 } });
    await rt.startContainer(id);
    rt.execHandler = (_id, cmd) => ({ stdout: Buffer.from(cmd[0] === 'ok' ? 'fine\n' : ''), stderr: Buffer.from(cmd[0] === 'bad' ? 'no\n' : ''), exitCode: cmd[0] === 'ok' ? 0 : 1 });
    expect(await runProbe(rt, { exec: { command: ['ok'] } }, c, id, undefined)).toEqual({ ok: true, output: 'fine\n' });
    expect(await runProbe(rt, { exec: { command: ['bad'] } }, c, id, undefined)).toEqual({ ok: false, output: 'no\n' });
    expect(await runProbe(rt, { exec: { command: ['quiet'] } }, c, id, undefined)).toEqual({ ok: false, output: 'command "quiet" exited with 1' });
  });
});

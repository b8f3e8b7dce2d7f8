import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Socket } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { connectDocker, DockerVersionError, negotiateApiVersion, socketPathOf } from '../../../src/kubelet/runtime/docker.js';
import { NotFoundError } from '../../../src/kubelet/runtime/runtime.js';

/**
 * The Docker runtime against a fake dockerd on a unix socket that answers as
 * the Engine API does: multiplexed frames for non-TTY streams (also in the
 * Buffer of a follow:false log request), hijacked exec connections, and an
 * exec whose inspect says Running for a while after its stream has ended.
 */

/** One Docker stream frame: [type, 0, 0, 0, uint32 BE length] + payload. */
function frame(type: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const h = Buffer.alloc(8);
  h.writeUInt8(type, 0);
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

const OURS = { 'io.kubernetes.docker.type': 'container', 'io.kubernetes.sandbox.id': 's1', 'io.kubernetes.container.name': 'app' };

interface FakeDocker {
  socket: string;
  requests: string[];
  apiVersion: string;
  /** exec inspect answers Running:true this many times before the exit code. */
  execRunningPolls: number;
  close(): Promise<void>;
}

function inspectOf(id: string, labels: Record<string, string>, tty = false): object {
  return {
    Id: id,
    Name: `/k8s_app_web_default_u1_0`,
    Created: '2026-12-02T05:00:00Z',
    Image: 'sha256:1',
    Config: { Image: 'busybox', Labels: labels, Tty: tty },
    HostConfig: { NetworkMode: 'container:s1' },
    NetworkSettings: { Networks: {} },
    Mounts: [],
    State: { Status: 'running', Running: true, ExitCode: 0, Error: '', StartedAt: '2026-12-02T05:00:01Z', FinishedAt: '0001-01-01T00:00:00Z', OOMKilled: false, Pid: 42 },
  };
}

async function startFakeDocker(apiVersion = '1.41'): Promise<FakeDocker> {
  const dir = mkdtempSync(`${tmpdir()}/fake-docker-`);
  const socket = `${dir}/docker.sock`;
  const fake: FakeDocker = { socket, requests: [], apiVersion, execRunningPolls: 3, close: async () => undefined };
  let polls = 0;
  const json = (res: ServerResponse, code: number, body: unknown) => {
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    fake.requests.push(`${req.method} ${req.url}`);
    const url = new URL(req.url!, 'http://docker');
    const path = url.pathname.replace(/^\/v\d+\.\d+/, '');
    if (path === '/version') return json(res, 200, { Version: '20.10.24', ApiVersion: fake.apiVersion, MinAPIVersion: '1.12' });
    if (path === '/containers/json') {
      const filters = JSON.parse(url.searchParams.get('filters') ?? '{}') as { label?: string[] };
      const wantsOurs = (filters.label ?? []).includes('io.kubernetes.docker.type=container');
      // The foreign container would be listed without the label filter.
      const all = [
        { Id: 'c1', Names: ['/k8s_app_web_default_u1_0'], Image: 'busybox', ImageID: 'sha256:1', State: 'running', Created: 1_764_651_600, Labels: OURS },
        { Id: 'foreign', Names: ['/web'], Image: 'nginx', ImageID: 'sha256:2', State: 'running', Created: 1_764_651_600, Labels: {} },
      ];
      return json(res, 200, wantsOurs ? all.filter((c) => 'io.kubernetes.docker.type' in c.Labels) : all);
    }
    let m = /^\/containers\/([^/]+)\/json$/.exec(path);
    if (m) {
      if (m[1] === 'c1') return json(res, 200, inspectOf('c1', OURS));
      if (m[1] === 'tty1') return json(res, 200, inspectOf('tty1', OURS, true));
      if (m[1] === 'foreign') return json(res, 200, inspectOf('foreign', {}));
      return json(res, 404, { message: `No such container: ${m[1]}` });
    }
    m = /^\/containers\/([^/]+)\/logs$/.exec(path);
    if (m) {
      const tty = m[1] === 'tty1';
      const body = tty ? Buffer.from('raw tty line\n') : Buffer.concat([frame(1, 'out one\n'), frame(2, 'err one\n'), frame(1, 'out two\n')]);
      if (url.searchParams.get('follow') === 'true' || url.searchParams.get('follow') === '1') {
        // Chunked, with a frame split across writes as Docker may send it.
        res.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' });
        res.write(body.subarray(0, 5));
        setTimeout(() => res.end(body.subarray(5)), 20);
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' });
      return res.end(body);
    }
    m = /^\/containers\/([^/]+)\/exec$/.exec(path);
    if (m) {
      polls = 0;
      return json(res, 201, { Id: 'e1' });
    }
    if (path === '/exec/e1/json') {
      polls++;
      const running = polls <= fake.execRunningPolls;
      return json(res, 200, { ID: 'e1', Running: running, ExitCode: running ? null : 3 });
    }
    if (/^\/containers\/[^/]+\/stop$/.test(path)) {
      res.writeHead(204);
      return res.end();
    }
    json(res, 404, { message: `page not found: ${path}` });
  });
  // exec start with `Upgrade: tcp`: 101, then the raw (multiplexed) stream.
  server.on('upgrade', (req: IncomingMessage, sock: Socket) => {
    fake.requests.push(`${req.method} ${req.url} (upgrade)`);
    sock.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    let input = '';
    sock.on('error', () => undefined);
    sock.on('data', (d: Buffer) => (input += d.toString()));
    sock.on('end', () => {
      // stdin was half-closed: answer what came in, on stdout, and on stderr a second frame.
      if (sock.destroyed) return;
      sock.write(frame(1, `got:${input}`));
      sock.end(frame(2, 'warn\n'));
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => {
        rmSync(dir, { recursive: true, force: true });
        resolve();
      });
    });
  return fake;
}

function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  return { stream: new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) }), text: () => Buffer.concat(chunks).toString() };
}

describe('Docker API version negotiation', () => {
  it('speaks the daemon’s version, capped at the newest this code knows', () => {
    expect(negotiateApiVersion({ ApiVersion: '1.41' }, 'unix:///d.sock')).toBe('1.41');
    expect(negotiateApiVersion({ ApiVersion: '1.47' }, 'unix:///d.sock')).toBe('1.47');
    expect(negotiateApiVersion({ ApiVersion: '1.60' }, 'unix:///d.sock')).toBe('1.52');
  });

  it('refuses a daemon below 1.41 with one line naming it', () => {
    expect(() => negotiateApiVersion({ ApiVersion: '1.40', Version: '19.03.15' }, 'unix:///d.sock')).toThrow(
      new DockerVersionError('dockerd at unix:///d.sock speaks Docker API 1.40 (Docker 19.03.15); pilot needs API 1.41 (Docker 20.10) or newer'),
    );
  });

  it('accepts unix endpoints only', () => {
    expect(socketPathOf('unix:///var/run/docker.sock')).toBe('/var/run/docker.sock');
    expect(() => socketPathOf('tcp://10.0.0.1:2375')).toThrow('only unix:// sockets');
  });
});

describe('Docker runtime against a fake dockerd', () => {
  let fake: FakeDocker;
  beforeEach(async () => {
    fake = await startFakeDocker();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('asks /version unversioned, then speaks the negotiated version on every path', async () => {
    const rt = await connectDocker({ endpoint: `unix://${fake.socket}` });
    expect((await rt.version()).runtimeApiVersion).toBe('1.41');
    await rt.listContainers();
    expect(fake.requests[0]).toBe('GET /version');
    expect(fake.requests[1]).toMatch(/^GET \/v1\.41\/containers\/json\?/);
  });

  it('fails to connect to an old daemon with the one-line refusal', async () => {
    await fake.close();
    fake = await startFakeDocker('1.40');
    await expect(connectDocker({ endpoint: fake.socket })).rejects.toThrow(/speaks Docker API 1\.40.*needs API 1\.41/);
  });

  it('lists only containers carrying the kubelet’s labels', async () => {
    const rt = await connectDocker({ endpoint: fake.socket });
    const list = await rt.listContainers();
    expect(list.map((c) => c.id)).toEqual(['c1']);
    expect(list[0]).toMatchObject({ podSandboxId: 's1', metadata: { name: 'app', attempt: 0 }, state: 'CONTAINER_RUNNING', createdAt: 1_764_651_600_000 });
  });

  it('never stops a container without those labels', async () => {
    const rt = await connectDocker({ endpoint: fake.socket });
    await rt.stopContainer('foreign', 1);
    await expect(rt.containerStatus('foreign')).rejects.toBeInstanceOf(NotFoundError);
    expect(fake.requests.some((r) => r.includes('/foreign/stop'))).toBe(false);
    await rt.stopContainer('c1', 1);
    expect(fake.requests.some((r) => r.includes('/c1/stop?t=1'))).toBe(true);
  });

  it('demultiplexes the Buffer a follow:false log request returns', async () => {
    const rt = await connectDocker({ endpoint: fake.socket });
    const out = sink();
    const err = sink();
    await rt.logs('c1', { stdout: out.stream, stderr: err.stream, tailLines: 10, timestamps: true });
    expect(out.text()).toBe('out one\nout two\n');
    expect(err.text()).toBe('err one\n');
    const logReq = fake.requests.find((r) => r.includes('/logs'))!;
    expect(logReq).toContain('tail=10');
    expect(logReq).toContain('timestamps=true');
  });

  it('demultiplexes a followed log stream, frames split across chunks, both streams into one by default', async () => {
    const rt = await connectDocker({ endpoint: fake.socket });
    const out = sink();
    await rt.logs('c1', { stdout: out.stream, follow: true, sinceTime: 1_764_651_600_500 });
    expect(out.text()).toBe('out one\nerr one\nout two\n');
    expect(fake.requests.find((r) => r.includes('/logs'))).toContain('since=1764651600.5');
  });

  it('passes a TTY container’s log through raw', async () => {
    const rt = await connectDocker({ endpoint: fake.socket });
    const out = sink();
    await rt.logs('tty1', { stdout: out.stream });
    expect(out.text()).toBe('raw tty line\n');
  });

  it('runs exec over a hijacked connection, half-closes stdin, and polls inspect until the exit code is there', async () => {
    const rt = await connectDocker({ endpoint: fake.socket, execPollMs: 5 });
    const stdin = new PassThrough();
    const out = sink();
    const err = sink();
    const session = await rt.exec('c1', ['cat'], { stdin, stdout: out.stream, stderr: err.stream });
    stdin.end('hello');
    expect(await session.done).toBe(3);
    expect(out.text()).toBe('got:hello');
    expect(err.text()).toBe('warn\n');
    // The stream ended while inspect still said Running: it was asked again until it stopped.
    expect(fake.requests.filter((r) => r.includes('/exec/e1/json')).length).toBe(fake.execRunningPolls + 1);
    expect(fake.requests.some((r) => r.includes('/exec/e1/start') && r.endsWith('(upgrade)'))).toBe(true);
  });

  it('attaches to the main process over a hijacked connection, demultiplexed for a non-TTY container', async () => {
    const rt = await connectDocker({ endpoint: fake.socket });
    const stdin = new PassThrough();
    const out = sink();
    const err = sink();
    const session = await rt.attach('c1', { stdin, stdout: out.stream, stderr: err.stream });
    stdin.end('typed');
    expect(await session.done).toBeUndefined();
    expect(out.text()).toBe('got:typed');
    expect(err.text()).toBe('warn\n');
    expect(fake.requests.find((r) => r.includes('/containers/c1/attach'))).toMatch(/stream=true.*\(upgrade\)$/);
  });

  it('collects execSync output and exit code', async () => {
    const rt = await connectDocker({ endpoint: fake.socket, execPollMs: 5 });
    fake.execRunningPolls = 1;
    // No stdin: the fake answers when our side closes, which the runtime does not do without stdin,
    // so execSync must end by the exec's exit (inspect) rather than by the stream.
    const r = await rt.execSync('c1', ['true'], 10_000);
    expect(r.exitCode).toBe(3);
  });
});

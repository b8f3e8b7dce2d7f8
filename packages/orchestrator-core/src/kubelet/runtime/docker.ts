import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { PassThrough, Readable, Writable, type Duplex } from 'node:stream';
import Docker from 'dockerode';
import type { ContainerCreateOptions, ContainerInspectInfo } from 'dockerode';
import { run, sleep, type Logger } from '@pilot/common';
import { containerCreateOptions, POD_INFRA_OOM_ADJ, renderResolvConf, sandboxCreateOptions } from './docker-spec.js';
import { containerOf, containerStatusOf, imageOf, sandboxOf, sandboxStatusOf } from './docker-status.js';
import { CONTAINER_TYPE, LABELS, withRandomSuffix } from './naming.js';
import { normalizeImage, pullAuth } from './images.js';
import { PORT_FORWARD_HELPER } from './port-forward-helper.js';
import {
  ImagePullError,
  NotFoundError,
  type AuthConfig,
  type Container,
  type ContainerConfig,
  type ContainerFilter,
  type ContainerRuntime,
  type ContainerStatus,
  type ExecSyncResult,
  type Image,
  type LogOptions,
  type PodSandbox,
  type PodSandboxConfig,
  type PodSandboxFilter,
  type PodSandboxStatus,
  type StreamOptions,
  type StreamSession,
  type VersionInfo,
} from './runtime.js';

/**
 * ContainerRuntime over dockerd's socket with dockerode, laid out as
 * dockershim / cri-dockerd did (names, labels, pause sandbox on Docker's
 * bridge, containers joined with `container:<sandbox>`).
 *
 * - The Engine API version is negotiated from `GET /version`, never pinned:
 *   the daemon's own version (capped at the newest this code knows), and a
 *   daemon below 1.41 (Docker 20.10) is refused with one line.
 * - Non-TTY streams are multiplexed (8-byte frame headers) and are always
 *   demultiplexed, also the Buffer a `follow:false` log request returns.
 * - An exec's exit code comes from polling exec inspect until Running is
 *   false: the stream may end before Docker has the code (or, with stdin left
 *   open, not end at all).
 * - Only containers carrying `io.kubernetes.docker.type` are listed, inspected,
 *   stopped or removed; everything else on the host is left alone.
 */

export const MIN_API_VERSION = '1.41';
/** The newest Engine API this code was written against; a newer daemon is spoken to at this version. */
export const MAX_API_VERSION = '1.52';
export const CRI_VERSION = 'v1';
/** cri-dockerd's defaultSandboxGracePeriod. */
const SANDBOX_STOP_SECONDS = 10;

export class DockerVersionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DockerVersionError';
  }
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The API version to speak, from the daemon's `/version`; throws one line below 1.41. */
export function negotiateApiVersion(server: { ApiVersion?: string; MinAPIVersion?: string; Version?: string }, endpoint: string): string {
  const v = server.ApiVersion;
  if (!v || !/^\d+\.\d+$/.test(v)) throw new DockerVersionError(`dockerd at ${endpoint} reports no usable API version (${JSON.stringify(v)})`);
  if (compareVersions(v, MIN_API_VERSION) < 0) {
    throw new DockerVersionError(
      `dockerd at ${endpoint} speaks Docker API ${v} (Docker ${server.Version ?? '?'}); pilot needs API ${MIN_API_VERSION} (Docker 20.10) or newer`,
    );
  }
  return compareVersions(v, MAX_API_VERSION) > 0 ? MAX_API_VERSION : v;
}

/** `unix:///run/docker.sock` or a plain path → the socket path; anything else is refused (Docker over TCP is not closed by default). */
export function socketPathOf(endpoint: string): string {
  if (endpoint.startsWith('unix://')) return endpoint.slice('unix://'.length);
  if (endpoint.startsWith('/')) return endpoint;
  throw new Error(`container runtime endpoint ${endpoint}: only unix:// sockets are supported`);
}

export interface DockerRuntimeOptions {
  /** `unix:///var/run/docker.sock` (`--container-runtime-endpoint`, `--docker-endpoint`). */
  endpoint: string;
  /** `--pod-infra-container-image`. */
  podInfraImage?: string;
  log?: Logger;
  /** Milliseconds between exec inspect polls. */
  execPollMs?: number;
  /** The pause containers' OOM score (upstream -998); null: leave Docker's default. Probed when absent. */
  infraOomScoreAdj?: number | null;
}

export const DEFAULT_POD_INFRA_IMAGE = 'registry.k8s.io/pause:3.10';

interface DockerError extends Error {
  statusCode?: number;
  json?: { message?: string } | null;
  reason?: string;
}

/** Docker's own message for a failed request (`{"message": ...}`), else the error's. */
export function dockerMessage(err: unknown): string {
  const e = err as DockerError;
  const fromJson = e?.json && typeof e.json === 'object' ? e.json.message : undefined;
  return (fromJson ?? e?.message ?? String(err)).trim();
}

function statusOf(err: unknown): number | undefined {
  return (err as DockerError)?.statusCode;
}

/** Connects to dockerd, negotiates the API version and returns the runtime. */
export async function connectDocker(opts: DockerRuntimeOptions): Promise<DockerRuntime> {
  const socketPath = socketPathOf(opts.endpoint);
  // Unversioned: the daemon answers /version whatever our version would be.
  const probe = new Docker({ socketPath });
  let server: { ApiVersion?: string; MinAPIVersion?: string; Version?: string };
  try {
    server = (await probe.version()) as typeof server;
  } catch (err) {
    throw new Error(`cannot reach dockerd at ${opts.endpoint}: ${dockerMessage(err)}`);
  }
  const apiVersion = negotiateApiVersion(server, opts.endpoint);
  const infraOom = opts.infraOomScoreAdj !== undefined ? opts.infraOomScoreAdj : (await mayLowerOomScore()) ? POD_INFRA_OOM_ADJ : null;
  if (infraOom === null) opts.log?.warn('this host does not let processes lower their OOM score: pause containers keep the default');
  return new DockerRuntime(new Docker({ socketPath, version: `v${apiVersion}` }), { ...opts, infraOomScoreAdj: infraOom }, apiVersion, server.Version ?? '');
}

/**
 * Whether a process may lower its oom_score_adj here (some sandboxed hosts
 * refuse it even to root, and runc then fails every start that asks).
 */
async function mayLowerOomScore(): Promise<boolean> {
  const r = await run(['sh', '-c', `echo ${POD_INFRA_OOM_ADJ} > /proc/self/oom_score_adj`], { check: false, timeoutMs: 5_000 }).catch(() => undefined);
  return r?.exitCode === 0;
}

export class DockerRuntime implements ContainerRuntime {
  readonly podInfraImage: string;
  private readonly pollMs: number;

  constructor(
    readonly docker: Docker,
    private readonly opts: DockerRuntimeOptions,
    readonly apiVersion: string,
    private readonly serverVersion: string,
  ) {
    this.podInfraImage = opts.podInfraImage ?? DEFAULT_POD_INFRA_IMAGE;
    this.pollMs = opts.execPollMs ?? 50;
  }

  async version(): Promise<VersionInfo> {
    return { version: CRI_VERSION, runtimeName: 'docker', runtimeVersion: this.serverVersion, runtimeApiVersion: this.apiVersion };
  }

  // ---- sandboxes ----

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    // The kubelet never pulls the pause image per pod: IfNotPresent.
    if (!(await this.imageStatus(this.podInfraImage))) await this.pullImage(this.podInfraImage);
    const id = await this.create(sandboxCreateOptions(config, this.podInfraImage, this.opts.infraOomScoreAdj === undefined ? POD_INFRA_OOM_ADJ : this.opts.infraOomScoreAdj));
    try {
      await this.docker.getContainer(id).start();
      if (config.dnsConfig && !config.hostNetwork) {
        const info = await this.docker.getContainer(id).inspect();
        // In place, as cri-dockerd's rewriteResolvFile: the file is bind-mounted
        // into containers by inode, so a rename would not reach the ones running.
        await writeFile(info.ResolvConfPath, renderResolvConf(config.dnsConfig), { mode: 0o644 });
      }
    } catch (err) {
      await this.docker.getContainer(id).remove({ force: true }).catch(() => undefined);
      throw new Error(`run pod sandbox ${config.metadata.namespace}/${config.metadata.name}: ${dockerMessage(err)}`);
    }
    return id;
  }

  async stopPodSandbox(id: string): Promise<void> {
    for (const c of await this.listContainers({ podSandboxId: id })) {
      if (c.state === 'CONTAINER_RUNNING') await this.stopContainer(c.id, SANDBOX_STOP_SECONDS);
    }
    await this.stopOurs(id, CONTAINER_TYPE.sandbox, SANDBOX_STOP_SECONDS);
  }

  async removePodSandbox(id: string): Promise<void> {
    for (const c of await this.listContainers({ podSandboxId: id })) await this.removeContainer(c.id);
    await this.removeOurs(id, CONTAINER_TYPE.sandbox);
  }

  async podSandboxStatus(id: string): Promise<PodSandboxStatus> {
    return sandboxStatusOf(await this.inspectOurs(id, CONTAINER_TYPE.sandbox));
  }

  async listPodSandbox(filter: PodSandboxFilter = {}): Promise<PodSandbox[]> {
    const list = await this.docker.listContainers({ all: true, filters: this.listFilters(CONTAINER_TYPE.sandbox, filter.id, filter.labelSelector) });
    return list.map(sandboxOf).filter((s) => !filter.state || s.state === filter.state);
  }

  // ---- containers ----

  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    try {
      return await this.create(containerCreateOptions(podSandboxId, config, sandboxConfig));
    } catch (err) {
      throw new Error(`create container ${config.metadata.name} of ${sandboxConfig.metadata.namespace}/${sandboxConfig.metadata.name}: ${dockerMessage(err)}`);
    }
  }

  async startContainer(id: string): Promise<void> {
    await this.inspectOurs(id, CONTAINER_TYPE.container);
    try {
      await this.docker.getContainer(id).start();
    } catch (err) {
      throw new Error(`start container ${id.slice(0, 12)}: ${dockerMessage(err)}`);
    }
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    await this.stopOurs(id, CONTAINER_TYPE.container, timeoutSeconds);
  }

  async removeContainer(id: string): Promise<void> {
    await this.removeOurs(id, CONTAINER_TYPE.container);
  }

  async listContainers(filter: ContainerFilter = {}): Promise<Container[]> {
    const labels = { ...filter.labelSelector, ...(filter.podSandboxId ? { [LABELS.sandboxId]: filter.podSandboxId } : {}) };
    const list = await this.docker.listContainers({ all: true, filters: this.listFilters(CONTAINER_TYPE.container, filter.id, labels) });
    return list.map(containerOf).filter((c) => !filter.state || c.state === filter.state);
  }

  async containerStatus(id: string): Promise<ContainerStatus> {
    return containerStatusOf(await this.inspectOurs(id, CONTAINER_TYPE.container));
  }

  // ---- images ----

  async pullImage(image: string, auth?: AuthConfig): Promise<string> {
    const ref = normalizeImage(image);
    if (!ref) throw new ImagePullError(image, 'InvalidImageName', `Failed to apply default image tag "${image}": couldn't parse image reference "${image}": invalid reference format`);
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.pull(ref, auth ? { authconfig: pullAuth(auth) } : {});
    } catch (err) {
      throw new ImagePullError(image, statusOf(err) === 400 ? 'InvalidImageName' : 'ErrImagePull', dockerMessage(err));
    }
    // Docker reports failures inside the progress stream ({"error": ...}) with status 200.
    const events = await new Promise<Array<{ error?: string }>>((resolve, reject) => {
      this.docker.modem.followProgress(stream, (err: Error | null, out: Array<{ error?: string }>) => (err ? reject(err) : resolve(out)));
    }).catch((err: unknown) => {
      throw new ImagePullError(image, 'ErrImagePull', dockerMessage(err));
    });
    const failed = events.find((e) => e.error);
    if (failed) throw new ImagePullError(image, 'ErrImagePull', failed.error!);
    const got = await this.imageStatus(ref);
    if (!got) throw new ImagePullError(image, 'ErrImagePull', `pulled, but dockerd does not know ${ref}`);
    return got.id;
  }

  async imageStatus(image: string): Promise<Image | undefined> {
    try {
      return imageOf(await this.docker.getImage(normalizeImage(image) ?? image).inspect());
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async listImages(): Promise<Image[]> {
    return (await this.docker.listImages()).map(imageOf);
  }

  async removeImage(image: string): Promise<void> {
    try {
      await this.docker.getImage(image).remove();
    } catch (err) {
      if (statusOf(err) !== 404) throw new Error(`remove image ${image}: ${dockerMessage(err)}`);
    }
  }

  // ---- streaming ----

  async exec(containerId: string, cmd: string[], streams: StreamOptions): Promise<StreamSession> {
    await this.inspectOurs(containerId, CONTAINER_TYPE.container);
    const tty = streams.tty ?? false;
    const exec = await this.docker.getContainer(containerId).exec({
      Cmd: cmd,
      AttachStdin: !!streams.stdin,
      AttachStdout: !!streams.stdout,
      AttachStderr: !!streams.stderr,
      Tty: tty,
    });
    const sock = (await exec.start({ hijack: true, stdin: !!streams.stdin, Tty: tty })) as Duplex;
    const output = this.connect(sock, streams, tty);
    const done = (async () => {
      // The stream can end before Docker has the exit code, and may not end
      // while stdin is open: wait for whichever comes first, then for the code.
      const exited = this.waitExecExit(exec, streams.signal);
      const first = await Promise.race([output.then(() => 'output' as const), exited.then(() => 'exited' as const)]);
      if (first === 'exited') {
        // Let the last output drain, then close our side.
        await Promise.race([output, sleep(2_000)]);
        sock.destroy();
      }
      return streams.signal?.aborted ? undefined : await exited;
    })();
    return { resize: async (size) => void (await exec.resize({ h: size.height, w: size.width })), done };
  }

  async execSync(containerId: string, cmd: string[], timeoutMs: number): Promise<ExecSyncResult> {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const abort = new AbortController();
    const collect = (into: Buffer[]) => new Writable({ write: (chunk: Buffer, _enc, cb) => (into.push(chunk), cb()) });
    const session = await this.exec(containerId, cmd, { stdout: collect(out), stderr: collect(err), signal: abort.signal });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(new Error(`exec ${JSON.stringify(cmd)} in ${containerId.slice(0, 12)} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      const exitCode = await Promise.race([session.done, timeout]);
      return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), exitCode: exitCode ?? -1 };
    } finally {
      clearTimeout(timer);
    }
  }

  async attach(containerId: string, streams: StreamOptions): Promise<StreamSession> {
    const info = await this.inspectOurs(containerId, CONTAINER_TYPE.container);
    const tty = info.Config.Tty;
    const container = this.docker.getContainer(containerId);
    const notRunning = (state: string) => new Error(`container ${containerId.slice(0, 12)} is not running (${state}); its output is in its logs`);
    if (!info.State.Running) throw notRunning(info.State.Status);
    const sock = (await container.attach({ stream: true, hijack: true, stdin: !!streams.stdin, stdout: !!streams.stdout, stderr: !!streams.stderr })) as Duplex;
    // dockerd attaches to a stopped container's streams without complaint and
    // never closes them (the docker CLI inspects first for that reason): a
    // process that exited between the inspect above and the attach would
    // leave the session hanging forever. Once attached, an exit closes the
    // streams, so one more look closes the race.
    const now = await this.inspectOurs(containerId, CONTAINER_TYPE.container);
    if (!now.State.Running) {
      sock.destroy();
      throw notRunning(now.State.Status);
    }
    const done = this.connect(sock, streams, tty).then(() => undefined);
    return { resize: async (size) => void (await container.resize({ h: size.height, w: size.width })), done };
  }

  async portForward(podSandboxId: string, port: number, stream: Duplex): Promise<void> {
    const info = await this.inspectOurs(podSandboxId, CONTAINER_TYPE.sandbox);
    if (!info.State.Running || !info.State.Pid) throw new Error(`port-forward to sandbox ${podSandboxId.slice(0, 12)}: it is not running`);
    // A small node program in the sandbox's network namespace (nsenter on the
    // pause container's PID) connects to localhost:port and relays stdio:
    // what dockershim did with socat, without needing socat.
    const child = spawn('nsenter', [`--net=/proc/${info.State.Pid}/ns/net`, '--', process.execPath, '-e', PORT_FORWARD_HELPER, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    stream.pipe(child.stdin);
    child.stdout.pipe(stream);
    const onStreamGone = () => child.kill('SIGTERM');
    stream.once('close', onStreamGone);
    const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
    stream.off('close', onStreamGone);
    if (code !== 0 && code !== null) {
      const e = new Error(`port-forward to localhost:${port} in sandbox ${podSandboxId.slice(0, 12)}: ${stderr.trim() || `helper exited ${code}`}`);
      stream.destroy();
      throw e;
    }
  }

  async logs(containerId: string, opts: LogOptions): Promise<void> {
    const info = await this.inspectOurs(containerId, CONTAINER_TYPE.container);
    const stderr = opts.stderr ?? opts.stdout;
    const query = {
      stdout: true,
      stderr: true,
      timestamps: opts.timestamps ?? false,
      ...(opts.tailLines !== undefined ? { tail: opts.tailLines } : {}),
      // Docker takes fractional UNIX seconds.
      ...(opts.sinceTime !== undefined ? { since: opts.sinceTime / 1000 } : {}),
    };
    const container = this.docker.getContainer(containerId);
    if (!opts.follow) {
      // follow:false answers a Buffer that still holds the frame headers.
      const buf = await container.logs({ ...query, follow: false });
      const src = Readable.from([buf]);
      await this.connect(src, { stdout: opts.stdout, stderr }, info.Config.Tty);
      return;
    }
    const stream = (await container.logs({ ...query, follow: true, ...(opts.signal ? { abortSignal: opts.signal } : {}) })) as unknown as Readable;
    opts.signal?.addEventListener('abort', () => stream.destroy(), { once: true });
    await this.connect(stream, { stdout: opts.stdout, stderr }, info.Config.Tty);
  }

  // ---- helpers ----

  /**
   * Wires a Docker stream to the caller's streams: raw with a TTY,
   * demultiplexed without; stdin (if any) goes in and is half-closed at its
   * end. Resolves when the output has ended (or the signal aborted).
   */
  private connect(sock: Readable | Duplex, streams: StreamOptions, tty: boolean): Promise<void> {
    // Outputs are never ended here: the caller owns them (an HTTP response, a WebSocket channel).
    const stdout = streams.stdout ?? new PassThrough().resume();
    const stderr = streams.stderr ?? stdout;
    if (tty) sock.pipe(stdout, { end: false });
    else this.docker.modem.demuxStream(sock, stdout, stderr);
    if (streams.stdin && 'write' in sock) {
      streams.stdin.pipe(sock as Duplex, { end: true });
    }
    return new Promise<void>((resolve) => {
      let settled = false;
      const finish = () => {
        if (settled) return;
        settled = true;
        streams.signal?.removeEventListener('abort', onAbort);
        if (streams.stdin) streams.stdin.unpipe(sock as Duplex);
        resolve();
      };
      const onAbort = () => {
        (sock as Duplex).destroy();
        finish();
      };
      sock.once('end', finish);
      sock.once('close', finish);
      sock.once('error', finish);
      streams.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Polls exec inspect until the process has stopped running; its exit code. */
  private async waitExecExit(exec: Docker.Exec, signal?: AbortSignal): Promise<number | undefined> {
    for (let i = 0; ; i++) {
      if (signal?.aborted) return undefined;
      const st = await exec.inspect();
      if (!st.Running && st.ExitCode !== null && st.ExitCode !== undefined) return st.ExitCode;
      // Up to ~1 s at the fast interval, then once a second (an interactive shell can run for hours).
      await sleep(i < 20 ? this.pollMs : 1_000, signal).catch(() => undefined);
    }
  }

  /** Creates a container; on a name conflict retries once with cri-dockerd's random suffix. */
  private async create(options: ContainerCreateOptions): Promise<string> {
    try {
      return (await this.docker.createContainer(options)).id;
    } catch (err) {
      if (statusOf(err) !== 409 || !options.name) throw err;
      this.opts.log?.warn({ name: options.name }, 'container name in use; creating with a random suffix');
      return (await this.docker.createContainer({ ...options, name: withRandomSuffix(options.name) })).id;
    }
  }

  /** Inspects a container that must be ours and of the given type (NotFoundError otherwise). */
  private async inspectOurs(id: string, type: string): Promise<ContainerInspectInfo> {
    const kind = type === CONTAINER_TYPE.sandbox ? 'sandbox' : 'container';
    let info: ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(id).inspect();
    } catch (err) {
      if (statusOf(err) === 404) throw new NotFoundError(kind, id);
      throw err;
    }
    if (info.Config.Labels?.[LABELS.containerType] !== type) throw new NotFoundError(kind, id);
    return info;
  }

  private async stopOurs(id: string, type: string, timeoutSeconds: number): Promise<void> {
    try {
      await this.inspectOurs(id, type);
      await this.docker.getContainer(id).stop({ t: Math.max(0, Math.round(timeoutSeconds)) });
    } catch (err) {
      // Already stopped (304) or gone: stopping is idempotent.
      if (err instanceof NotFoundError || statusOf(err) === 304 || statusOf(err) === 404) return;
      throw new Error(`stop ${id.slice(0, 12)}: ${dockerMessage(err)}`);
    }
  }

  private async removeOurs(id: string, type: string): Promise<void> {
    try {
      await this.inspectOurs(id, type);
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (err) {
      if (err instanceof NotFoundError || statusOf(err) === 404) return;
      throw new Error(`remove ${id.slice(0, 12)}: ${dockerMessage(err)}`);
    }
  }

  private listFilters(type: string, id: string | undefined, labels: Record<string, string> | undefined): string {
    const label = [`${LABELS.containerType}=${type}`, ...Object.entries(labels ?? {}).map(([k, v]) => `${k}=${v}`)];
    return JSON.stringify({ label, ...(id ? { id: [id] } : {}) });
  }
}

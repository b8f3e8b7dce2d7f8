import type { Duplex } from 'node:stream';
import { normalizeImage } from './images.js';
import { LABELS } from './naming.js';
import {
  ImagePullError,
  NotFoundError,
  type AuthConfig,
  type Container,
  type ContainerConfig,
  type ContainerFilter,
  type ContainerRuntime,
  type ContainerState,
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
 * An in-memory ContainerRuntime for the kubelet's unit tests: sandboxes get
 * addresses from `podSubnet`, containers move through CRI's states when the
 * test says so (`exit`), and failures are injected by name (`failPull`,
 * `failStart`, `down`). Every call is recorded in `calls`, so a test can
 * assert what the kubelet asked for and in which order.
 */

interface FakeSandbox {
  config: PodSandboxConfig;
  state: PodSandbox['state'];
  createdAt: number;
  ip?: string;
}

interface FakeContainer {
  podSandboxId: string;
  config: ContainerConfig;
  state: ContainerState;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  exitCode: number;
  reason?: string;
  message?: string;
  log: Array<{ time: number; stream: 'stdout' | 'stderr'; line: string }>;
}

export interface FakeCall {
  verb: string;
  args: unknown[];
}

export class FakeRuntime implements ContainerRuntime {
  readonly calls: FakeCall[] = [];
  readonly sandboxes = new Map<string, FakeSandbox>();
  readonly containers = new Map<string, FakeContainer>();
  readonly images = new Map<string, Image>();
  /** Images whose pull fails, with the message Docker would give. */
  readonly pullFailures = new Map<string, string>();
  /** When true every call fails as if dockerd were down. */
  down = false;
  /** Decides exec results; default: exit 0, no output. */
  execHandler: (containerId: string, cmd: string[]) => ExecSyncResult = () => ({ stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: 0 });
  private startFailure: ((c: ContainerConfig) => string | undefined) | undefined;
  private nextId = 1;
  private nextIp = 2;
  now: () => number = () => Date.now();

  constructor(
    readonly podSubnetPrefix = '10.1.1',
    images: readonly string[] = ['registry.k8s.io/pause:3.10'],
  ) {
    for (const i of images) this.addImage(i);
  }

  addImage(ref: string): void {
    const name = normalizeImage(ref) ?? ref;
    this.images.set(name, { id: `sha256:${(this.nextId++).toString(16).padStart(64, '0')}`, repoTags: [name], repoDigests: [], size: 1 });
  }

  /** The pull of `image` fails with `message` (ErrImagePull). */
  failPull(image: string, message = `Error response from daemon: manifest for ${image} not found: manifest unknown`): void {
    this.pullFailures.set(normalizeImage(image) ?? image, message);
  }

  /** startContainer fails for containers the predicate names (returns Docker's message), as a missing command does. */
  failStart(predicate: (c: ContainerConfig) => string | undefined): void {
    this.startFailure = predicate;
  }

  /** The container's process ended. */
  exit(id: string, exitCode: number, opts: { oomKilled?: boolean } = {}): void {
    const c = this.mustContainer(id);
    c.state = 'CONTAINER_EXITED';
    c.exitCode = exitCode;
    c.finishedAt = this.now();
    c.reason = opts.oomKilled ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error';
  }

  appendLog(id: string, line: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
    this.mustContainer(id).log.push({ time: this.now(), stream, line });
  }

  private record(verb: string, ...args: unknown[]): void {
    this.calls.push({ verb, args });
    if (this.down) throw new Error('cannot reach dockerd at unix:///fake.sock: connect ENOENT');
  }

  private id(prefix: string): string {
    return `${prefix}${(this.nextId++).toString(16).padStart(12, '0')}`;
  }

  private mustSandbox(id: string): FakeSandbox {
    const s = this.sandboxes.get(id);
    if (!s) throw new NotFoundError('sandbox', id);
    return s;
  }

  private mustContainer(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw new NotFoundError('container', id);
    return c;
  }

  async version(): Promise<VersionInfo> {
    this.record('version');
    return { version: 'v1', runtimeName: 'fake', runtimeVersion: '0.0.0', runtimeApiVersion: '1.41' };
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    this.record('runPodSandbox', config);
    const id = this.id('sandbox');
    this.sandboxes.set(id, {
      config,
      state: 'SANDBOX_READY',
      createdAt: this.now(),
      ...(config.hostNetwork ? {} : { ip: `${this.podSubnetPrefix}.${this.nextIp++}` }),
    });
    return id;
  }

  async stopPodSandbox(id: string): Promise<void> {
    this.record('stopPodSandbox', id);
    const s = this.sandboxes.get(id);
    if (!s) return;
    for (const [cid, c] of this.containers) if (c.podSandboxId === id && c.state === 'CONTAINER_RUNNING') this.exit(cid, 137);
    s.state = 'SANDBOX_NOTREADY';
  }

  async removePodSandbox(id: string): Promise<void> {
    this.record('removePodSandbox', id);
    for (const [cid, c] of this.containers) if (c.podSandboxId === id) this.containers.delete(cid);
    this.sandboxes.delete(id);
  }

  private sandboxView(id: string, s: FakeSandbox): PodSandbox {
    // As Docker: the pod's identity labels travel with every sandbox (sandboxLabels).
    const m = s.config.metadata;
    const labels = { ...s.config.labels, [LABELS.podName]: m.name, [LABELS.podNamespace]: m.namespace, [LABELS.podUid]: m.uid };
    return { id, metadata: m, state: s.state, createdAt: s.createdAt, labels, annotations: { ...s.config.annotations } };
  }

  async podSandboxStatus(id: string): Promise<PodSandboxStatus> {
    this.record('podSandboxStatus', id);
    const s = this.mustSandbox(id);
    return { ...this.sandboxView(id, s), network: { ...(s.ip ? { ip: s.ip } : {}), additionalIps: [] }, hostNetwork: !!s.config.hostNetwork };
  }

  async listPodSandbox(filter: PodSandboxFilter = {}): Promise<PodSandbox[]> {
    this.record('listPodSandbox', filter);
    return [...this.sandboxes]
      .map(([id, s]) => this.sandboxView(id, s))
      .filter((s) => (!filter.id || s.id === filter.id) && (!filter.state || s.state === filter.state) && matches(s.labels, filter.labelSelector));
  }

  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    this.record('createContainer', podSandboxId, config, sandboxConfig);
    this.mustSandbox(podSandboxId);
    if (!this.images.has(normalizeImage(config.image) ?? config.image)) throw new Error(`create container ${config.metadata.name}: No such image: ${config.image}`);
    const id = this.id('container');
    this.containers.set(id, { podSandboxId, config, state: 'CONTAINER_CREATED', createdAt: this.now(), exitCode: 0, log: [] });
    return id;
  }

  async startContainer(id: string): Promise<void> {
    this.record('startContainer', id);
    const c = this.mustContainer(id);
    const failure = this.startFailure?.(c.config);
    if (failure) {
      // As Docker: no finishedAt, a non-zero exit code → ContainerCannotRun.
      c.state = 'CONTAINER_EXITED';
      c.exitCode = 127;
      c.reason = 'ContainerCannotRun';
      c.message = failure;
      c.startedAt = c.finishedAt = c.createdAt;
      throw new Error(`start container ${id}: ${failure}`);
    }
    c.state = 'CONTAINER_RUNNING';
    c.startedAt = this.now();
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    this.record('stopContainer', id, timeoutSeconds);
    const c = this.containers.get(id);
    if (c?.state === 'CONTAINER_RUNNING') this.exit(id, 143);
  }

  async removeContainer(id: string): Promise<void> {
    this.record('removeContainer', id);
    this.containers.delete(id);
  }

  private containerView(id: string, c: FakeContainer): Container {
    const image = this.images.get(normalizeImage(c.config.image) ?? c.config.image);
    // As Docker: the pod's identity and the container's name travel as labels (containerLabels).
    const m = this.sandboxes.get(c.podSandboxId)?.config.metadata;
    const identity: Record<string, string> = m ? { [LABELS.podName]: m.name, [LABELS.podNamespace]: m.namespace, [LABELS.podUid]: m.uid, [LABELS.containerName]: c.config.metadata.name } : {};
    return {
      id,
      podSandboxId: c.podSandboxId,
      metadata: c.config.metadata,
      image: c.config.image,
      imageRef: image?.id ?? '',
      state: c.state,
      createdAt: c.createdAt,
      labels: { ...c.config.labels, ...identity },
      annotations: { ...c.config.annotations },
    };
  }

  async listContainers(filter: ContainerFilter = {}): Promise<Container[]> {
    this.record('listContainers', filter);
    return [...this.containers]
      .map(([id, c]) => this.containerView(id, c))
      .filter(
        (c) =>
          (!filter.id || c.id === filter.id) &&
          (!filter.state || c.state === filter.state) &&
          (!filter.podSandboxId || c.podSandboxId === filter.podSandboxId) &&
          matches(c.labels, filter.labelSelector),
      );
  }

  async containerStatus(id: string): Promise<ContainerStatus> {
    this.record('containerStatus', id);
    const c = this.mustContainer(id);
    return {
      ...this.containerView(id, c),
      ...(c.startedAt !== undefined ? { startedAt: c.startedAt } : {}),
      ...(c.finishedAt !== undefined ? { finishedAt: c.finishedAt } : {}),
      exitCode: c.exitCode,
      ...(c.reason ? { reason: c.reason } : {}),
      ...(c.message ? { message: c.message } : {}),
      mounts: c.config.mounts ?? [],
      ...(c.config.logPath ? { logPath: c.config.logPath } : {}),
    };
  }

  async pullImage(image: string, auth?: AuthConfig): Promise<string> {
    this.record('pullImage', image, auth);
    const ref = normalizeImage(image);
    if (!ref) throw new ImagePullError(image, 'InvalidImageName', `couldn't parse image reference "${image}": invalid reference format`);
    const failure = this.pullFailures.get(ref);
    if (failure) throw new ImagePullError(image, 'ErrImagePull', failure);
    if (!this.images.has(ref)) this.addImage(ref);
    return this.images.get(ref)!.id;
  }

  async imageStatus(image: string): Promise<Image | undefined> {
    this.record('imageStatus', image);
    return this.images.get(normalizeImage(image) ?? image);
  }

  async listImages(): Promise<Image[]> {
    this.record('listImages');
    return [...this.images.values()];
  }

  async removeImage(image: string): Promise<void> {
    this.record('removeImage', image);
    this.images.delete(normalizeImage(image) ?? image);
  }

  async exec(containerId: string, cmd: string[], streams: StreamOptions): Promise<StreamSession> {
    this.record('exec', containerId, cmd);
    const c = this.mustContainer(containerId);
    if (c.state !== 'CONTAINER_RUNNING') throw new Error(`exec in ${containerId}: container is not running`);
    const r = this.execHandler(containerId, cmd);
    streams.stdout?.write(r.stdout);
    (streams.tty ? streams.stdout : streams.stderr)?.write(r.stderr);
    return { resize: async () => undefined, done: Promise.resolve(r.exitCode) };
  }

  async execSync(containerId: string, cmd: string[], timeoutMs: number): Promise<ExecSyncResult> {
    this.record('execSync', containerId, cmd, timeoutMs);
    const c = this.mustContainer(containerId);
    if (c.state !== 'CONTAINER_RUNNING') throw new Error(`exec in ${containerId}: container is not running`);
    return this.execHandler(containerId, cmd);
  }

  async attach(containerId: string, streams: StreamOptions): Promise<StreamSession> {
    this.record('attach', containerId);
    const c = this.mustContainer(containerId);
    for (const l of c.log) (l.stream === 'stderr' && !streams.tty ? streams.stderr : streams.stdout)?.write(`${l.line}\n`);
    return { resize: async () => undefined, done: Promise.resolve(undefined) };
  }

  async portForward(podSandboxId: string, port: number, stream: Duplex): Promise<void> {
    this.record('portForward', podSandboxId, port);
    this.mustSandbox(podSandboxId);
    stream.end();
  }

  async logs(containerId: string, opts: LogOptions): Promise<void> {
    this.record('logs', containerId, { ...opts, stdout: undefined, stderr: undefined, signal: undefined });
    const c = this.mustContainer(containerId);
    let lines = c.log.filter((l) => opts.sinceTime === undefined || l.time >= opts.sinceTime);
    if (opts.tailLines !== undefined) lines = opts.tailLines === 0 ? [] : lines.slice(-opts.tailLines);
    for (const l of lines) {
      const text = `${opts.timestamps ? `${new Date(l.time).toISOString()} ` : ''}${l.line}\n`;
      (l.stream === 'stderr' ? (opts.stderr ?? opts.stdout) : opts.stdout).write(text);
    }
  }
}

function matches(labels: Record<string, string>, selector: Record<string, string> | undefined): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

import type { Duplex, Readable, Writable } from 'node:stream';

/**
 * The kubelet's container runtime edge: CRI's RuntimeService and
 * ImageService verbs (k8s.io/cri-api v1) as a TypeScript interface, without
 * gRPC. Names and shapes follow CRI so a reader of the kubelet finds them;
 * where CRI hands streaming to a separate server (Exec/Attach/PortForward
 * return URLs), this interface streams directly, as dockershim's
 * StreamingRuntime did, and the kubelet's HTTPS server (server.ts) calls it.
 *
 * Implementations: docker.ts (dockerd through its socket, dockershim /
 * cri-dockerd layout) and fake.ts (in memory, for the kubelet's unit tests).
 * This file imports neither.
 *
 * Times are epoch milliseconds; `undefined` where CRI would send 0.
 */

export interface VersionInfo {
  /** CRI version this interface follows. */
  version: string;
  runtimeName: string;
  runtimeVersion: string;
  /** The API version spoken with the runtime (Docker: the negotiated Engine API version). */
  runtimeApiVersion: string;
}

// ---- sandboxes ----

export interface PodSandboxMetadata {
  name: string;
  namespace: string;
  uid: string;
  attempt: number;
}

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface PortMapping {
  protocol: Protocol;
  containerPort: number;
  /** 0/undefined: not published on the host. */
  hostPort?: number;
  hostIp?: string;
}

/** resolv.conf for the pod, as the kubelet computes it from dnsPolicy/dnsConfig. */
export interface DnsConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname?: string;
  dnsConfig?: DnsConfig;
  portMappings?: PortMapping[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** CRI NamespaceOption network=NODE: the pod shares the host's network namespace. */
  hostNetwork?: boolean;
  /** CRI NamespaceOption pid=POD: containers share the sandbox's PID namespace. */
  sharePid?: boolean;
  /** Docker: the cgroup parent for the sandbox and its containers. */
  cgroupParent?: string;
}

export type PodSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';

export interface PodSandbox {
  id: string;
  metadata: PodSandboxMetadata;
  state: PodSandboxState;
  createdAt: number;
  /** The labels the kubelet gave (runtime-internal labels removed). */
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface PodSandboxStatus extends PodSandbox {
  network: {
    /** The pod IP (from the bridge, i.e. FLANNEL_SUBNET); undefined for hostNetwork sandboxes. */
    ip?: string;
    additionalIps: string[];
  };
  hostNetwork: boolean;
}

export interface PodSandboxFilter {
  id?: string;
  state?: PodSandboxState;
  labelSelector?: Record<string, string>;
}

// ---- containers ----

export interface ContainerMetadata {
  name: string;
  attempt: number;
}

export interface KeyValue {
  key: string;
  value: string;
}

export interface Mount {
  containerPath: string;
  hostPath: string;
  readonly?: boolean;
}

/** CRI LinuxContainerResources, as the kubelet computes them from requests/limits. */
export interface LinuxContainerResources {
  cpuPeriod?: number;
  cpuQuota?: number;
  cpuShares?: number;
  memoryLimitInBytes?: number;
  oomScoreAdj?: number;
}

export interface ContainerConfig {
  metadata: ContainerMetadata;
  image: string;
  /** Replaces the image's ENTRYPOINT (Kubernetes `command`). */
  command?: string[];
  /** Replaces the image's CMD (Kubernetes `args`). */
  args?: string[];
  workingDir?: string;
  envs?: KeyValue[];
  mounts?: Mount[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Where the kubelet expects the log (recorded as a label; Docker keeps json-file logs itself). */
  logPath?: string;
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
  resources?: LinuxContainerResources;
  privileged?: boolean;
  runAsUser?: number;
}

export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';

export interface Container {
  id: string;
  podSandboxId: string;
  metadata: ContainerMetadata;
  image: string;
  imageRef: string;
  state: ContainerState;
  createdAt: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface ContainerStatus extends Container {
  startedAt?: number;
  finishedAt?: number;
  exitCode: number;
  /** Terminated reasons as cri-dockerd: OOMKilled, Completed, Error, ContainerCannotRun. */
  reason?: string;
  /** The runtime's error text (Docker's State.Error). */
  message?: string;
  mounts: Mount[];
  logPath?: string;
}

export interface ContainerFilter {
  id?: string;
  state?: ContainerState;
  podSandboxId?: string;
  labelSelector?: Record<string, string>;
}

// ---- images ----

/** Registry credentials (CRI AuthConfig), resolved by the kubelet from imagePullSecrets. */
export interface AuthConfig {
  username?: string;
  password?: string;
  /** base64 `user:password`, as docker config files hold it. */
  auth?: string;
  serverAddress?: string;
  identityToken?: string;
  registryToken?: string;
}

export interface Image {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
}

// ---- streaming ----

export interface TerminalSize {
  width: number;
  height: number;
}

/** What a stream is connected to. Absent streams are not attached. */
export interface StreamOptions {
  stdin?: Readable;
  stdout?: Writable;
  /** Ignored with tty (a terminal has one output stream). */
  stderr?: Writable;
  tty?: boolean;
  /** Aborting detaches (attach) or stops waiting (exec); the process is not killed. */
  signal?: AbortSignal;
}

/** A running exec or attach session. */
export interface StreamSession {
  /** A terminal resize (tty sessions only). */
  resize(size: TerminalSize): Promise<void>;
  /**
   * Resolves when the output has ended and, for exec, the process has exited:
   * with its exit code (exec) or undefined (attach, or exec when aborted).
   */
  done: Promise<number | undefined>;
}

export interface ExecSyncResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

export interface LogOptions {
  follow?: boolean;
  /** Only the last N lines. */
  tailLines?: number;
  /** Only lines at or after this time (epoch ms). */
  sinceTime?: number;
  /** Prefix every line with its RFC3339Nano time, as `kubectl logs --timestamps`. */
  timestamps?: boolean;
  stdout: Writable;
  /** Defaults to stdout (kubectl logs interleaves both). */
  stderr?: Writable;
  /** Ends a follow. */
  signal?: AbortSignal;
}

/** The runtime said the object is not there (CRI NotFound). */
export class NotFoundError extends Error {
  constructor(
    readonly kind: 'sandbox' | 'container' | 'image',
    readonly id: string,
  ) {
    super(`${kind} ${id} not found`);
    this.name = 'NotFoundError';
  }
}

/** A pull failed; `reason` is what the kubelet reports (ErrImagePull, InvalidImageName). */
export class ImagePullError extends Error {
  constructor(
    readonly image: string,
    readonly reason: 'ErrImagePull' | 'InvalidImageName',
    message: string,
  ) {
    super(`pull ${image}: ${message}`);
    this.name = 'ImagePullError';
  }
}

export interface ContainerRuntime {
  version(): Promise<VersionInfo>;

  /** Creates and starts the sandbox (pause container, network, resolv.conf); returns its id. */
  runPodSandbox(config: PodSandboxConfig): Promise<string>;
  /** Stops the sandbox and every container in it; idempotent (an absent sandbox is stopped). */
  stopPodSandbox(id: string): Promise<void>;
  /** Removes the sandbox and its containers; idempotent. */
  removePodSandbox(id: string): Promise<void>;
  /** Throws NotFoundError for an unknown id. */
  podSandboxStatus(id: string): Promise<PodSandboxStatus>;
  /** Only sandboxes this runtime made (labelled); never anything else on the host. */
  listPodSandbox(filter?: PodSandboxFilter): Promise<PodSandbox[]>;

  createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** SIGTERM (the image's stop signal), SIGKILL after timeoutSeconds; idempotent. */
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  listContainers(filter?: ContainerFilter): Promise<Container[]>;
  containerStatus(id: string): Promise<ContainerStatus>;

  /** Pulls the image (with credentials when given); returns the image id. Throws ImagePullError. */
  pullImage(image: string, auth?: AuthConfig): Promise<string>;
  /** undefined when the image is not present. */
  imageStatus(image: string): Promise<Image | undefined>;
  listImages(): Promise<Image[]>;
  removeImage(image: string): Promise<void>;

  /** Runs cmd in the container with the given streams; resolves once it started. */
  exec(containerId: string, cmd: string[], streams: StreamOptions): Promise<StreamSession>;
  /** Runs cmd to completion and collects its output; rejects after timeoutMs. */
  execSync(containerId: string, cmd: string[], timeoutMs: number): Promise<ExecSyncResult>;
  /** Attaches to the container's main process. */
  attach(containerId: string, streams: StreamOptions): Promise<StreamSession>;
  /**
   * Connects `stream` to localhost:port inside the sandbox's network
   * namespace (as `kubectl port-forward` means it); resolves when both
   * directions have closed, rejects when nothing listens there.
   */
  portForward(podSandboxId: string, port: number, stream: Duplex): Promise<void>;
  /** Writes the container's log (demultiplexed) to the streams; resolves at the end (or when a follow is aborted). */
  logs(containerId: string, opts: LogOptions): Promise<void>;
}

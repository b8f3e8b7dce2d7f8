import { writeFileSync } from 'node:fs';
import { waitFor } from '@pilot/common';
import { IMAGE_NAMES, registryArgv, registryConfig, type Daemon, type ImageSet } from '@pilot/orchestrator-core/up';
import type { DaemonHost } from './daemon.js';

/**
 * Debian's docker-registry (distribution 2.8; its config from
 * orchestrator-core's up/registry.ts) on an underlay address: read-only
 * over the run's content-hashed image store, so every cluster of every run
 * serves the same bytes and no run can change them. Every dockerd
 * of the run uses it as its Docker Hub mirror (`busybox`, `guest/mynode`
 * resolve as on Docker Hub) and as an insecure registry (`<address>/nope`).
 */
export class Registry {
  private daemon: Daemon | undefined;
  port = 0;

  constructor(
    readonly host: DaemonHost,
    readonly store: ImageSet,
    private readonly opts: { listenIp?: string; readOnly?: boolean; name?: string } = {},
  ) {}

  /** host:port, the form `--insecure-registry` and image references use. */
  get address(): string {
    return `${this.opts.listenIp ?? this.host.ip}:${this.port}`;
  }

  get url(): string {
    return `http://${this.address}`;
  }

  /** Image names as manifests write them, and the pause image's tarball for `docker load`. */
  get images(): typeof IMAGE_NAMES & { pauseTar: string } {
    return { ...IMAGE_NAMES, pauseTar: this.store.pauseTar };
  }

  /** A registry-qualified image that does not exist: its pull fails at once (no Docker Hub fallback). */
  missing(name = 'nope'): string {
    return `${this.address}/${name}`;
  }

  async start(): Promise<this> {
    if (this.daemon) {
      this.daemon.start();
    } else {
      this.port = await this.host.freePort();
      const name = this.opts.name ?? 'registry';
      const config = `${this.host.stateDir}/${name}.yml`;
      const readOnly = this.opts.readOnly ?? true;
      writeFileSync(config, registryConfig({ rootDirectory: this.store.registryRoot, address: this.address, readOnly }));
      this.daemon = this.host.spawn(name, registryArgv(config));
    }
    await waitFor(
      async () => {
        if (!this.daemon?.running) throw new Error(`docker-registry exited ${JSON.stringify(this.daemon?.exit)}`);
        return (await this.host.exec(['curl', '-sf', '--max-time', '2', `${this.url}/v2/`])).exitCode === 0;
      },
      { timeoutMs: 20_000, what: `docker-registry at ${this.url}` },
    );
    return this;
  }

  async stop(): Promise<void> {
    await this.daemon?.stop();
  }
}

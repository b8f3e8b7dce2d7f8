import type { RunResult } from '@pilot/common';
import type { Daemon } from '@pilot/orchestrator-core/up';

export interface ExecOptions {
  input?: string;
  timeoutMs?: number;
  env?: Record<string, string>;
}

/**
 * What a daemon of the harness (etcd, dockerd, a registry) needs from the
 * host it runs in: cluster.ts's Host, seen from here, so the daemons do not
 * import the cluster that starts them.
 */
export interface DaemonHost {
  readonly name: string;
  readonly ip: string;
  readonly stateDir: string;
  readonly cluster: { readonly prefix: string };
  exec(argv: readonly string[], opts?: ExecOptions): Promise<RunResult>;
  execOk(argv: readonly string[], opts?: ExecOptions): Promise<RunResult>;
  spawn(name: string, argv: readonly string[], opts?: { env?: Record<string, string> }): Daemon;
  freePort(): Promise<number>;
}

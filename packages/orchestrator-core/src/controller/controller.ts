/**
 * What every controller of `pilot controller-manager` is (kube-controller-manager's
 * ControllerContext + InitFunc): built from a shared context by a factory in
 * manager.ts's table, it registers informers on the shared factory at
 * construction (handlers only enqueue keys) and runs its workers while this
 * process leads.
 */
import type { ApiClient, EventBroadcaster, InformerFactory } from '@pilot/api';
import type { Logger } from '@pilot/common';
import type { ControllerManagerConfig } from './flags.js';

export interface Controller {
  /** The --controllers name, upstream's ("replicationcontroller", "endpoint", "nodelifecycle", ...). */
  readonly name: string;
  /**
   * Runs the workers until the signal aborts (leadership lost or stop);
   * called after the shared informers have synced.
   */
  run(signal: AbortSignal): Promise<void>;
}

/** Shared by every controller of one process: one client, one informer factory, one event broadcaster. */
export interface ControllerContext {
  client: ApiClient;
  informers: InformerFactory;
  events: EventBroadcaster;
  config: ControllerManagerConfig;
  /** A child logger with `controller: <name>`. */
  log: Logger;
  /** Milliseconds since the epoch (tests pass a fake clock). */
  now: () => number;
}

/** Builds one controller; returns undefined when its configuration turns it off. */
export type ControllerFactory = (ctx: ControllerContext) => Controller | undefined;

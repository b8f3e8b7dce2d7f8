/**
 * `pilot controller-manager` wired up (cmd/kube-controller-manager's
 * controllermanager.go): one client, one shared informer factory and one
 * event broadcaster; the controllers named by --controllers are built from
 * CONTROLLERS at start (so they register their informers), the informers run
 * and sync before the election (a standby keeps a warm cache, as upstream),
 * and the controllers run while this process holds the Lease
 * kube-system/kube-controller-manager (or always, without leader election).
 */
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { ApiClient, defaultIdentity, EventBroadcaster, InformerFactory } from '@pilot/api';
import { createRegistry, FlagError, type Logger } from '@pilot/common';
import { runElected } from '../component/elected.js';
import type { Controller, ControllerContext, ControllerFactory } from './controller.js';
import type { ControllerManagerConfig } from './flags.js';
import { daemonSetsControllerFactory } from './daemon/controller.js';
import { deploymentControllerFactory } from './deployment/controller.js';
import { disruptionControllerFactory } from './disruption/controller.js';
import { endpointsControllerFactory } from './endpoints/controller.js';
import { garbageCollectorFactory } from './garbagecollector/controller.js';
import { jobControllerFactory } from './job/controller.js';
import { namespaceControllerFactory } from './namespace/controller.js';
import { replicaSetControllerFactory } from './replicaset/controller.js';
import { replicationControllerFactory } from './replication/controller.js';
import { serviceAccountsControllerFactory } from './serviceaccount/controller.js';
import { statefulSetControllerFactory } from './statefulset/controller.js';
import { nodeLifecycleControllerFactory } from './nodelifecycle/controller.js';
import { taintEvictionControllerFactory } from './taint-eviction/controller.js';

export interface ControllerEntry {
  factory: ControllerFactory;
  /** Off unless named explicitly in --controllers (upstream's ControllersDisabledByDefault). */
  disabledByDefault?: boolean;
}

/**
 * name → factory (upstream's NewControllerInitializers). Adding a controller
 * is adding a row here; its name is what --controllers accepts.
 */
export const CONTROLLERS: Record<string, ControllerEntry> = {
  replicationcontroller: { factory: replicationControllerFactory },
  endpoint: { factory: endpointsControllerFactory },
  serviceaccount: { factory: serviceAccountsControllerFactory },
  namespace: { factory: namespaceControllerFactory },
  garbagecollector: { factory: garbageCollectorFactory },
  nodelifecycle: { factory: nodeLifecycleControllerFactory },
  'taint-eviction-controller': { factory: taintEvictionControllerFactory },
  job: { factory: jobControllerFactory },
  disruption: { factory: disruptionControllerFactory },
  daemonset: { factory: daemonSetsControllerFactory },
  statefulset: { factory: statefulSetControllerFactory },
  replicaset: { factory: replicaSetControllerFactory },
  deployment: { factory: deploymentControllerFactory },
};

/**
 * Which controllers --controllers turns on (upstream's IsControllerEnabled):
 * an explicit `name` or `-name` wins, otherwise `*` enables every
 * default-on one. Unknown names are a flag error.
 */
export function enabledControllers(list: readonly string[], table: Record<string, ControllerEntry> = CONTROLLERS): string[] {
  for (const item of list) {
    const name = item.startsWith('-') ? item.slice(1) : item;
    if (name !== '*' && !Object.hasOwn(table, name)) throw new FlagError('controllers', `unknown controller "${name}" (known: ${Object.keys(table).join(', ') || 'none'})`);
  }
  const star = list.includes('*');
  return Object.entries(table)
    .filter(([name, e]) => {
      if (list.includes(name)) return true;
      if (list.includes(`-${name}`)) return false;
      return star && !e.disabledByDefault;
    })
    .map(([name]) => name);
}

export interface StartOptions {
  log: Logger;
  /** Stops everything (a graceful stop releases the Lease). */
  signal: AbortSignal;
  /** Called when leadership is lost: upstream exits; the CLI does (tests may observe). */
  onLeadershipLost?: () => void;
  /** The client to use (tests); default from --master/--kubeconfig. */
  client?: ApiClient;
  /** The table to build from (tests); default CONTROLLERS. */
  controllers?: Record<string, ControllerEntry>;
  now?: () => number;
}

export interface RunningControllerManager {
  readonly healthzPort: number | undefined;
  readonly identity: string;
  /** The names of the controllers this process runs. */
  readonly controllers: readonly string[];
  isLeader(): boolean;
  /** 'stopped' on the signal, 'lost' when the Lease was lost. */
  readonly done: Promise<'stopped' | 'lost'>;
  close(): Promise<void>;
}

export async function startControllerManager(cfg: ControllerManagerConfig, o: StartOptions): Promise<RunningControllerManager> {
  const log = o.log;
  const table = o.controllers ?? CONTROLLERS;
  const names = enabledControllers(cfg.controllers, table);
  const client = o.client ?? ApiClient.fromFlags({ master: cfg.master, kubeconfig: cfg.kubeconfig, userAgent: 'pilot-controller-manager' });
  const identity = defaultIdentity();
  const stop = new AbortController();
  // Every informer, watch and worker pool of every controller listens on it: more than Node's default 10 by design.
  setMaxListeners(0, stop.signal);
  const onAbort = () => stop.abort();
  o.signal.addEventListener('abort', onAbort, { once: true });

  const informers = new InformerFactory(client, { logger: log });
  const events = new EventBroadcaster(client, { logger: log });
  const now = o.now ?? Date.now;
  const controllers: Controller[] = [];
  for (const name of names) {
    const ctx: ControllerContext = { client, informers, events, config: cfg, log: log.child({ controller: name }), now };
    let c: Controller | undefined;
    try {
      c = table[name]!.factory(ctx);
    } catch (err) {
      throw new Error(`starting controller ${name}: ${(err as Error).message}`, { cause: err });
    }
    if (c) controllers.push(c);
    else log.info({ controller: name }, 'controller disabled by its configuration');
  }

  const registry = createRegistry('controller_manager');
  informers.start(stop.signal);
  const elected = await runElected({
    cfg,
    client,
    identity,
    log,
    registry,
    signal: stop.signal,
    waitForSync: (signal) => informers.waitForSync(signal),
    hasSynced: () => informers.hasSynced(),
    lead: async (signal) => {
      log.info({ identity, controllers: controllers.map((c) => c.name) }, 'running controllers');
      await Promise.all(controllers.map((c) => c.run(signal).catch((err: unknown) => log.error({ controller: c.name, err }, 'controller stopped with an error'))));
    },
    onLeadershipLost: o.onLeadershipLost,
  });

  return {
    get healthzPort() {
      return elected.healthzPort;
    },
    identity,
    controllers: controllers.map((c) => c.name),
    isLeader: elected.isLeader,
    done: elected.done,
    async close() {
      stop.abort();
      o.signal.removeEventListener('abort', onAbort);
      await elected.done;
      await informers.stopped();
      await events.shutdown(5000);
      await elected.closeHealth();
      if (!o.client) client.close();
    },
  };
}

/** The event source component of every controller's recorder (upstream: the controller's own name). */
export function recorderFor(ctx: ControllerContext, component: string) {
  return ctx.events.newRecorder({ component, host: hostname() });
}

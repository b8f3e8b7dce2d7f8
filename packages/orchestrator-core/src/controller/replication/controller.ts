/**
 * The replication controller (pkg/controller/replication): the ReplicaSet
 * controller's loop (replicaset/controller.ts) behind the v1
 * ReplicationController's type adapter — its kind, and its selector, a plain
 * label map that defaults to the template's labels.
 */
import { hostname } from 'node:os';
import { labelSelectorFromSet, LabelSelector, type Pod, type ReplicationController } from '@pilot/api';
import type { ControllerFactory } from '../controller.js';
import { RealPodControl } from '../pod-control.js';
import { ReplicaSetController, type ReplicaKind, type ReplicaSetControllerDeps } from '../replicaset/controller.js';

export { CONTROLLER_UID_INDEX } from '../replicaset/controller.js';

/** The RC's selector; an RC without one selects its template's labels (the API's defaulting), none selects nothing. */
export const REPLICATION_CONTROLLER_KIND: ReplicaKind<ReplicationController> = {
  resource: 'replicationcontrollers',
  name: 'replicationcontroller',
  queueName: 'replicationmanager',
  logKey: 'rc',
  selectorOf(rc) {
    const sel = rc.spec?.selector && Object.keys(rc.spec.selector).length ? rc.spec.selector : rc.spec?.template?.metadata?.labels;
    if (!sel || Object.keys(sel).length === 0) return LabelSelector.nothing();
    return labelSelectorFromSet(sel);
  },
};

export interface ReplicationManagerDeps extends Omit<ReplicaSetControllerDeps<ReplicationController>, 'owners'> {
  rcs: ReplicaSetControllerDeps<ReplicationController>['owners'];
}

export class ReplicationManager extends ReplicaSetController<ReplicationController> {
  constructor(deps: ReplicationManagerDeps) {
    const { rcs, ...rest } = deps;
    super(REPLICATION_CONTROLLER_KIND, { ...rest, owners: rcs });
  }

  /** syncReplicationController: the ReplicaSet's sync over the RC. */
  syncReplicationController(key: string): Promise<void> {
    return this.syncReplicaSet(key);
  }
}

export const replicationControllerFactory: ControllerFactory = (ctx) => {
  const recorder = ctx.events.newRecorder({ component: 'replication-controller', host: hostname() });
  return new ReplicationManager({
    rcs: ctx.informers.informer<ReplicationController>('replicationcontrollers'),
    pods: ctx.informers.informer<Pod>('pods'),
    client: ctx.client,
    podControl: new RealPodControl(ctx.client, recorder),
    workers: ctx.config.concurrentRcSyncs,
    log: ctx.log,
    now: ctx.now,
  });
};

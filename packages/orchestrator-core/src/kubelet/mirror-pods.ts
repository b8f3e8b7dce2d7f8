import { isAlreadyExists, isConflict, isNotFound, type ApiClient, type Node, type Pod } from '@pilot/api';
import { sleep, type Logger } from '@pilot/common';
import { ANNOTATION_CONFIG_MIRROR } from './config/file.js';

/**
 * Mirror pods (pkg/kubelet/pod/mirror_client.go and the kubelet's mirror
 * pod handling in SyncPod / HandlePodCleanups): each static pod shows in
 * the API as a pod of the same name and namespace, with the annotation
 * kubernetes.io/config.mirror = the static pod's hash and the Node as its
 * owner, so `kubectl get pods` lists it and its status is the static pod's.
 * It cannot be controlled through the API: deleting it only makes the
 * kubelet create it again; removing the manifest deletes it.
 *
 * The plan is pure over the static pods and the mirror pods the API holds;
 * the manager performs it whenever either side changes, and every
 * `resyncMs` in case a write failed, once the apiserver source has listed
 * (before that the kubelet cannot know which mirror pods exist).
 */

export interface MirrorRef {
  namespace: string;
  name: string;
  uid: string;
}

export interface MirrorPlan {
  /** Static pods without a mirror pod. */
  create: Pod[];
  /** Mirror pods of no static pod, of an older manifest, or being deleted (deleted with grace 0, then made again). */
  delete: MirrorRef[];
}

const keyOf = (p: Pod) => `${p.metadata.namespace}/${p.metadata.name}`;

/** IsMirrorPodOf: the mirror pod carries this static pod's hash. */
export function isMirrorPodOf(mirror: Pod, staticPod: Pod): boolean {
  return mirror.metadata.annotations?.[ANNOTATION_CONFIG_MIRROR] === staticPod.metadata.uid;
}

export function planMirrorPods(staticPods: readonly Pod[], mirrorPods: readonly Pod[]): MirrorPlan {
  const mirrors = new Map(mirrorPods.map((m) => [keyOf(m), m]));
  const plan: MirrorPlan = { create: [], delete: [] };
  const wanted = new Set<string>();
  for (const s of staticPods) {
    const key = keyOf(s);
    wanted.add(key);
    const m = mirrors.get(key);
    if (!m) plan.create.push(s);
    else if (m.metadata.deletionTimestamp || !isMirrorPodOf(m, s)) plan.delete.push(refOf(m));
  }
  for (const [key, m] of mirrors) if (!wanted.has(key)) plan.delete.push(refOf(m));
  return plan;
}

function refOf(m: Pod): MirrorRef {
  return { namespace: m.metadata.namespace!, name: m.metadata.name!, uid: m.metadata.uid! };
}

/** The mirror pod of a static pod (CreateMirrorPod's copy): its own UID comes from the apiserver. */
export function mirrorPodOf(staticPod: Pod, node: { name: string; uid: string }): Pod {
  const meta = { ...staticPod.metadata };
  const hash = meta.uid!;
  delete meta.uid;
  delete meta.resourceVersion;
  delete meta.creationTimestamp;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...meta,
      annotations: { ...(meta.annotations ?? {}), [ANNOTATION_CONFIG_MIRROR]: hash },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node.name, uid: node.uid, controller: true }],
    },
    spec: staticPod.spec!,
  };
}

export type MirrorClient = Pick<ApiClient, 'get' | 'create' | 'delete'>;

export interface MirrorPodManagerOptions {
  client: MirrorClient;
  nodeName: string;
  log: Logger;
  staticPods(): Pod[];
  mirrorPods(): Pod[];
  /** The apiserver source has listed (which mirror pods exist is known). */
  apiSynced(): boolean;
  resyncMs?: number;
}

export class MirrorPodManager {
  private nodeUid: string | undefined;
  private wake: (() => void) | undefined;
  private kicked = false;

  constructor(private readonly o: MirrorPodManagerOptions) {}

  /** Something changed (a static pod, a mirror pod): reconcile soon. */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  /** The mirror pod the API holds for a static pod (its status goes there). */
  mirrorOf(staticPod: Pod): Pod | undefined {
    return this.o.mirrorPods().find((m) => keyOf(m) === keyOf(staticPod) && isMirrorPodOf(m, staticPod) && !m.metadata.deletionTimestamp);
  }

  async run(signal: AbortSignal): Promise<void> {
    const resync = this.o.resyncMs ?? 10_000;
    signal.addEventListener('abort', () => this.wake?.(), { once: true });
    while (!signal.aborted) {
      const synced = this.o.apiSynced();
      if (synced) {
        this.kicked = false;
        // Every pass plans (a write that failed, a mirror pod changed behind our back); an empty plan calls nothing.
        await this.reconcile().catch((err: unknown) => this.o.log.warn({ err: (err as Error).message }, 'syncing mirror pods failed; will retry'));
        if (this.kicked) continue;
      }
      // Until the apiserver source has listed, look again soon.
      await Promise.race([sleep(synced ? resync : Math.min(resync, 1_000), signal).catch(() => undefined), new Promise<void>((resolve) => (this.wake = resolve))]);
      this.wake = undefined;
    }
  }

  /** Performs one plan; throws after trying every action when one failed (the next pass retries). */
  async reconcile(): Promise<void> {
    const plan = planMirrorPods(this.o.staticPods(), this.o.mirrorPods());
    let failed: unknown;
    for (const m of plan.delete) {
      try {
        await this.o.client.delete('pods', m.name, { namespace: m.namespace, gracePeriodSeconds: 0, preconditions: { uid: m.uid } });
        this.o.log.info({ pod: `${m.namespace}/${m.name}`, uid: m.uid }, 'mirror pod deleted');
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) failed = err;
      }
    }
    for (const s of plan.create) {
      try {
        const node = { name: this.o.nodeName, uid: await this.nodeUidOf() };
        await this.o.client.create('pods', mirrorPodOf(s, node), { namespace: s.metadata.namespace! });
        this.o.log.info({ pod: `${s.metadata.namespace}/${s.metadata.name}`, staticUid: s.metadata.uid }, 'mirror pod created');
      } catch (err) {
        // One of that name exists (the watch has not shown it yet, or a pod that is no mirror): the next pass sees it.
        if (!isAlreadyExists(err)) failed = err;
      }
    }
    if (failed) throw failed;
  }

  /** The Node's UID for the owner reference (the node registers itself first). */
  private async nodeUidOf(): Promise<string> {
    if (this.nodeUid) return this.nodeUid;
    const node = await this.o.client.get<Node>('nodes', this.o.nodeName);
    this.nodeUid = node.metadata.uid!;
    return this.nodeUid;
  }
}

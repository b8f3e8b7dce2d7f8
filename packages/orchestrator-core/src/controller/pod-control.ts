/**
 * The pod writes of the controllers that own pods (controller_utils.go's
 * PodControlInterface / RealPodControl): create from a template with the
 * controller reference, delete, patch; each create and delete is told in an
 * Event on the owner (`SuccessfulCreate` "Created pod: web-x7k2p",
 * `FailedCreate` "Error creating: …", `SuccessfulDelete`, `FailedDelete`),
 * so `kubectl describe rc` tells the story. The interface is the seam the
 * controllers' tests fake.
 */
import { isNotFound, type ApiClient, type EventRecorder, type KubeObject, type OwnerReference, type Pod, type PodTemplateSpec } from '@pilot/api';
import { podFromTemplate } from './replication/replica-plan.js';

export interface PodControl {
  /** Creates one pod from the template, controlled by `owner`. */
  createPod(namespace: string, template: PodTemplateSpec, owner: KubeObject, ref: OwnerReference): Promise<Pod>;
  /** Deletes the pod (its grace period is the pod's); a pod already gone rejects with the 404. */
  deletePod(namespace: string, name: string, owner: KubeObject): Promise<void>;
  /** A strategic merge patch of the pod (adoption and release). */
  patchPod(namespace: string, name: string, patch: unknown): Promise<void>;
}

export class RealPodControl implements PodControl {
  constructor(
    private readonly client: Pick<ApiClient, 'create' | 'delete' | 'patch'>,
    private readonly recorder: EventRecorder,
  ) {}

  async createPod(namespace: string, template: PodTemplateSpec, owner: KubeObject, ref: OwnerReference): Promise<Pod> {
    const pod = podFromTemplate(template, namespace, owner.metadata.name!, ref);
    if (!pod.metadata.labels || Object.keys(pod.metadata.labels).length === 0) throw new Error('unable to create pods, no labels');
    let created: Pod;
    try {
      created = await this.client.create<Pod>('pods', pod, { namespace });
    } catch (err) {
      this.recorder.event(owner, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`);
      throw err;
    }
    this.recorder.event(owner, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
    return created;
  }

  async deletePod(namespace: string, name: string, owner: KubeObject): Promise<void> {
    try {
      await this.client.delete('pods', name, { namespace });
    } catch (err) {
      // Already gone is what the caller wanted; it decides (upstream logs it and records nothing).
      if (!isNotFound(err)) this.recorder.event(owner, 'Warning', 'FailedDelete', `Error deleting: ${(err as Error).message}`);
      throw err;
    }
    this.recorder.event(owner, 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
  }

  async patchPod(namespace: string, name: string, patch: unknown): Promise<void> {
    await this.client.patch('pods', name, patch, 'strategic', { namespace });
  }
}

import {
  JOB_CONTROLLER_UID_LABEL,
  JOB_NAME_LABEL,
  LEGACY_CONTROLLER_UID_LABEL,
  LEGACY_JOB_NAME_LABEL,
  type Job,
} from '@pilot/api';
import type { Strategy } from './strategy.js';
import { statusSubresource, type SubresourceMap } from './subresources.js';

/**
 * batch/v1 Job (upstream pkg/registry/batch/job/strategy.go): the status
 * belongs to the job controller; unless the user asked for a manual
 * selector, the apiserver picks one from the Job's uid and labels the
 * template with it (and the job name), so two Jobs never adopt each other's
 * pods. A batch/v1 Job deleted without a propagation policy orphans its pods,
 * as upstream keeps for backward compatibility (kubectl sends Background).
 */
export const jobStrategy: Strategy = {
  prepareForCreate(obj) {
    const job = obj as Job;
    job.status = {};
    if (job.spec && job.spec.manualSelector !== true) generateSelector(job);
  },
  defaultGarbageCollectionPolicy: 'OrphanDependents',
};

/** generateSelector: the uid-based selector and the labels that make the template match it (both label spellings, as 1.32 writes). */
export function generateSelector(job: Job): void {
  const uid = job.metadata.uid!;
  const name = job.metadata.name!;
  const spec = job.spec!;
  const template = (spec.template ??= {});
  const meta = (template.metadata ??= {});
  meta.labels = {
    ...(meta.labels ?? {}),
    [LEGACY_CONTROLLER_UID_LABEL]: uid,
    [JOB_CONTROLLER_UID_LABEL]: uid,
    [LEGACY_JOB_NAME_LABEL]: name,
    [JOB_NAME_LABEL]: name,
  };
  spec.selector ??= { matchLabels: { [JOB_CONTROLLER_UID_LABEL]: uid } };
}

export const jobSubresources: SubresourceMap = { status: statusSubresource };

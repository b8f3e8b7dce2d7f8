import { CORE_V1_MESSAGES } from './core-v1.js';
import type { FieldDesc, MessageDesc } from './schema.js';

/**
 * Field numbers from k8s.io/api batch/v1 and policy/v1 generated.proto (and
 * meta/v1 DeleteOptions), for what kubectl's typed clients send: `kubectl
 * create job` posts a Job, `kubectl create pdb` a
 * PodDisruptionBudget, `kubectl drain` an Eviction. Numbers not listed
 * are skipped on decode.
 */

const { ObjectMeta, LabelSelector, PodTemplateSpec } = CORE_V1_MESSAGES;
const msg = (name: string, type: MessageDesc): FieldDesc => ({ name, type });
/** A Go pointer (*int32, *int64, *bool) is on the wire only when set, so an explicit zero is kept. */
const ptr = (name: string, type: 'int32' | 'int64' | 'bool'): FieldDesc => ({ name, type, keepZero: true });

const JobSpec: MessageDesc = {
  name: 'JobSpec',
  fields: {
    1: ptr('parallelism', 'int32'),
    2: ptr('completions', 'int32'),
    3: ptr('activeDeadlineSeconds', 'int64'),
    4: msg('selector', LabelSelector),
    5: ptr('manualSelector', 'bool'),
    6: msg('template', PodTemplateSpec),
    7: ptr('backoffLimit', 'int32'),
    8: ptr('ttlSecondsAfterFinished', 'int32'),
    9: { name: 'completionMode', type: 'string' },
    10: ptr('suspend', 'bool'),
  },
};
// The status a client sends is ignored (the strategy clears it).
const Job: MessageDesc = { name: 'Job', fields: { 1: msg('metadata', ObjectMeta), 2: msg('spec', JobSpec), 3: msg('status', { name: 'JobStatus', fields: {} }) } };

const PodDisruptionBudgetSpec: MessageDesc = {
  name: 'PodDisruptionBudgetSpec',
  fields: {
    1: { name: 'minAvailable', type: 'intOrString' },
    2: msg('selector', LabelSelector),
    3: { name: 'maxUnavailable', type: 'intOrString' },
    4: { name: 'unhealthyPodEvictionPolicy', type: 'string' },
  },
};
const PodDisruptionBudget: MessageDesc = {
  name: 'PodDisruptionBudget',
  fields: { 1: msg('metadata', ObjectMeta), 2: msg('spec', PodDisruptionBudgetSpec), 3: msg('status', { name: 'PodDisruptionBudgetStatus', fields: {} }) },
};

const Preconditions: MessageDesc = { name: 'Preconditions', fields: { 1: { name: 'uid', type: 'string' }, 2: { name: 'resourceVersion', type: 'string' } } };
const DeleteOptions: MessageDesc = {
  name: 'DeleteOptions',
  fields: {
    1: ptr('gracePeriodSeconds', 'int64'),
    2: msg('preconditions', Preconditions),
    3: ptr('orphanDependents', 'bool'),
    4: { name: 'propagationPolicy', type: 'string' },
    5: { name: 'dryRun', type: 'string', repeated: true },
  },
};
const Eviction: MessageDesc = { name: 'Eviction', fields: { 1: msg('metadata', ObjectMeta), 2: msg('deleteOptions', DeleteOptions) } };

/** Top-level kinds by `apiVersion/kind`, as the envelope names them. */
export const BATCH_POLICY_V1_KINDS: Readonly<Record<string, MessageDesc>> = {
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'policy/v1/Eviction': Eviction,
};

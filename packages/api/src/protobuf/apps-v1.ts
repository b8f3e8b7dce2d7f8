import { CORE_V1_MESSAGES } from './core-v1.js';
import type { FieldDesc, MessageDesc } from './schema.js';

/**
 * Field numbers from k8s.io/api apps/v1 generated.proto, for what kubectl's
 * typed clients send: `kubectl create deployment` posts a Deployment.
 * Numbers not listed are skipped on decode.
 */

const { ObjectMeta, LabelSelector, PodTemplateSpec } = CORE_V1_MESSAGES;
const msg = (name: string, type: MessageDesc): FieldDesc => ({ name, type });
/** A Go pointer (*int32) is on the wire only when set, so an explicit zero is kept. */
const ptr = (name: string, type: 'int32' | 'int64' | 'bool'): FieldDesc => ({ name, type, keepZero: true });

const RollingUpdateDeployment: MessageDesc = {
  name: 'RollingUpdateDeployment',
  fields: { 1: { name: 'maxUnavailable', type: 'intOrString' }, 2: { name: 'maxSurge', type: 'intOrString' } },
};
const DeploymentStrategy: MessageDesc = { name: 'DeploymentStrategy', fields: { 1: { name: 'type', type: 'string' }, 2: msg('rollingUpdate', RollingUpdateDeployment) } };
const DeploymentSpec: MessageDesc = {
  name: 'DeploymentSpec',
  fields: {
    1: ptr('replicas', 'int32'),
    2: msg('selector', LabelSelector),
    3: msg('template', PodTemplateSpec),
    4: msg('strategy', DeploymentStrategy),
    5: { name: 'minReadySeconds', type: 'int32' },
    6: ptr('revisionHistoryLimit', 'int32'),
    7: { name: 'paused', type: 'bool' },
    9: ptr('progressDeadlineSeconds', 'int32'),
  },
};
// The status a client sends is ignored (the strategy clears it).
const Deployment: MessageDesc = { name: 'Deployment', fields: { 1: msg('metadata', ObjectMeta), 2: msg('spec', DeploymentSpec), 3: msg('status', { name: 'DeploymentStatus', fields: {} }) } };

/** Top-level kinds by `apiVersion/kind`, as the envelope names them. */
export const APPS_V1_KINDS: Readonly<Record<string, MessageDesc>> = {
  'apps/v1/Deployment': Deployment,
};

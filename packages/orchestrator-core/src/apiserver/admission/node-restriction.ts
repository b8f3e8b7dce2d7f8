import type { Pod } from '@pilot/api';
import { nodeIdentity, NODE_LEASE_NAMESPACE } from '../authorization/node.js';
import { kindLabel } from '../registry/strategy.js';
import { forbidden, type StatusError } from '../status.js';
import type { AdmissionAttributes, AdmissionPlugin } from './admission.js';

/**
 * NodeRestriction (plugin/pkg/admission/noderestriction): what the Node
 * authorizer lets every node do, narrowed by the object to the node's own:
 * its Node, its Lease, mirror pods bound to it, the status and deletion of
 * pods bound to it.
 */

export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

function refuse(a: AdmissionAttributes, why: string): StatusError {
  const name = a.name || a.object?.metadata.name || '';
  return forbidden(`${kindLabel(a.resource)} "${name}" is forbidden: ${why}`, { name, ...(a.resource.group ? { group: a.resource.group } : {}), kind: a.resource.resource });
}

export const nodeRestriction: AdmissionPlugin = (a) => {
  const node = nodeIdentity(a.user);
  if (node === undefined) return;
  const r = a.resource;
  if (r.group === '' && r.resource === 'nodes') {
    const target = a.name || a.object?.metadata.name || '';
    if (target !== node) throw refuse(a, `node "${node}" is not allowed to modify node "${target}"`);
    return;
  }
  if (r.group === '' && r.resource === 'pods') {
    const pod = (a.oldObject ?? a.object) as Pod | undefined;
    const boundTo = pod?.spec?.nodeName ?? '';
    switch (a.operation) {
      case 'CREATE':
        if (!(a.object?.metadata.annotations ?? {})[MIRROR_POD_ANNOTATION])
          throw refuse(a, `pod does not have "${MIRROR_POD_ANNOTATION}" annotation, node "${node}" can only create mirror pods`);
        if (boundTo !== node) throw refuse(a, `node "${node}" can only create pods with spec.nodeName set to itself`);
        return;
      case 'UPDATE':
        if (a.subresource !== 'status') throw refuse(a, `node "${node}" can only update pod status`);
        if (boundTo !== node) throw refuse(a, `node "${node}" can only update pod status for pods with spec.nodeName set to itself`);
        return;
      case 'DELETE':
        if (boundTo !== node) throw refuse(a, `node "${node}" can only delete pods with spec.nodeName set to itself`);
        return;
    }
  }
  if (r.group === 'coordination.k8s.io' && r.resource === 'leases' && a.namespace === NODE_LEASE_NAMESPACE) {
    const target = a.name || a.object?.metadata.name || '';
    if (target !== node) throw refuse(a, 'can only access node lease with the same name as the requesting node');
  }
};

/**
 * Field labels: which object fields a fieldSelector may name, per resource,
 * and how to read them off an object (as strings, the way the apiserver
 * compares them). A label not in the list is unknown, which the apiserver
 * answers with 400 BadRequest.
 */
import type { KubeObject } from './types.js';
import { FieldSelector, SelectorError } from './selectors.js';

type Getter = (obj: KubeObject) => string | number | boolean | undefined | null;

function at(path: string): Getter {
  const parts = path.split('.');
  return (obj) => {
    let cur: unknown = obj;
    for (const p of parts) {
      if (cur === null || typeof cur !== 'object') return undefined;
      cur = (cur as Record<string, unknown>)[p];
    }
    return typeof cur === 'string' || typeof cur === 'number' || typeof cur === 'boolean' ? cur : undefined;
  };
}

/** Booleans read as "true"/"false" even when absent, as Kubernetes formats them. */
function bool(path: string): Getter {
  const g = at(path);
  return (obj) => (g(obj) === true ? 'true' : 'false');
}

const COMMON = ['metadata.name', 'metadata.namespace'] as const;

const EXTRA: Record<string, Record<string, Getter>> = {
  pods: {
    'spec.nodeName': at('spec.nodeName'),
    'spec.restartPolicy': at('spec.restartPolicy'),
    'spec.schedulerName': at('spec.schedulerName'),
    'spec.serviceAccountName': at('spec.serviceAccountName'),
    'spec.hostNetwork': bool('spec.hostNetwork'),
    'status.phase': at('status.phase'),
    'status.podIP': at('status.podIP'),
    'status.nominatedNodeName': at('status.nominatedNodeName'),
  },
  events: {
    'involvedObject.kind': at('involvedObject.kind'),
    'involvedObject.namespace': at('involvedObject.namespace'),
    'involvedObject.name': at('involvedObject.name'),
    'involvedObject.uid': at('involvedObject.uid'),
    'involvedObject.apiVersion': at('involvedObject.apiVersion'),
    'involvedObject.resourceVersion': at('involvedObject.resourceVersion'),
    'involvedObject.fieldPath': at('involvedObject.fieldPath'),
    reason: at('reason'),
    reportingComponent: at('reportingComponent'),
    type: at('type'),
    source: at('source.component'),
  },
  nodes: {
    'spec.unschedulable': bool('spec.unschedulable'),
  },
  namespaces: {
    'status.phase': at('status.phase'),
  },
  services: {
    'spec.clusterIP': at('spec.clusterIP'),
    'spec.type': at('spec.type'),
  },
  replicationcontrollers: {
    'status.replicas': at('status.replicas'),
  },
  endpointslices: {
    addressType: at('addressType'),
  },
  secrets: {
    type: at('type'),
  },
};

/** Field labels a fieldSelector may use for `resource` (plural). */
export function fieldLabelsFor(resource: string): string[] {
  return [...COMMON, ...Object.keys(EXTRA[resource] ?? {})];
}

export function isKnownFieldLabel(resource: string, label: string): boolean {
  return (COMMON as readonly string[]).includes(label) || Object.prototype.hasOwnProperty.call(EXTRA[resource] ?? {}, label);
}

/** Every field label of `resource` read off `obj`, as strings ("" when absent). */
export function fieldsOf(resource: string, obj: KubeObject): Record<string, string> {
  const out: Record<string, string> = {
    'metadata.name': obj.metadata?.name ?? '',
    'metadata.namespace': obj.metadata?.namespace ?? '',
  };
  for (const [label, get] of Object.entries(EXTRA[resource] ?? {})) {
    const v = get(obj);
    out[label] = v === undefined || v === null ? '' : String(v);
  }
  return out;
}

/**
 * Throws a SelectorError naming the first field label `resource` does not
 * support (the apiserver turns it into 400), e.g.
 * `field label not supported: spec.foo (pods supports metadata.name, ...)`.
 */
export function checkFieldSelector(resource: string, sel: FieldSelector): void {
  for (const r of sel.requirements) {
    if (!isKnownFieldLabel(resource, r.field)) {
      throw new SelectorError(`field label not supported: ${r.field} (${resource} supports ${fieldLabelsFor(resource).join(', ')})`);
    }
  }
}

/** True when `obj` of `resource` satisfies the field selector. */
export function matchesFields(resource: string, obj: KubeObject, sel: FieldSelector): boolean {
  return sel.isEmpty() || sel.matches(fieldsOf(resource, obj));
}

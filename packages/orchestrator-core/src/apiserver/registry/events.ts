import { createHash } from 'node:crypto';
import { formatTime, resourceByName, type Event, type KubeObject, type ObjectReference } from '@pilot/api';
import type { Logger } from '@pilot/common';
import { StatusError } from '../status.js';
import type { ObjectAccess } from './access.js';

/**
 * Events the apiserver writes where it acts on an object itself (reserving or failing to reserve a Service's ClusterIP / NodePorts,
 * scaling an RC, removing an owner's dependents). `kubectl describe` lists
 * them through `involvedObject.*` field selectors, so the reference carries
 * kind, namespace, name and — when the object exists — its uid.
 *
 * The same thing happening again (same object, type, reason and message)
 * bumps `count` and `lastTimestamp` of one Event instead of adding another,
 * as client-go's event correlator does, so a condition that repeats (a
 * controller retrying into a full range) cannot flood etcd.
 *
 * Recording is best effort: an event that cannot be written is logged and
 * never fails the request that caused it.
 */

export const EVENT_SOURCE = 'pilot-apiserver';

export type EventType = 'Normal' | 'Warning';

/** The involved object: a stored object, or only kind/namespace/name for one that was refused. */
export type Involved = KubeObject | { kind: string; apiVersion: string; namespace?: string; name: string };

export function referenceOf(o: Involved): ObjectReference {
  if ('metadata' in o) {
    const ref: ObjectReference = { kind: o.kind!, apiVersion: o.apiVersion!, name: o.metadata.name! };
    if (o.metadata.namespace) ref.namespace = o.metadata.namespace;
    if (o.metadata.uid) ref.uid = o.metadata.uid;
    if (o.metadata.resourceVersion) ref.resourceVersion = o.metadata.resourceVersion;
    return ref;
  }
  return { kind: o.kind, apiVersion: o.apiVersion, name: o.name, ...(o.namespace ? { namespace: o.namespace } : {}) };
}

/** The Event's name: the object's name, a dot, a digest of what happened (the same story → the same Event). */
export function eventName(ref: ObjectReference, type: EventType, reason: string, message: string): string {
  const digest = createHash('sha256').update(JSON.stringify([ref.kind, ref.namespace, ref.name, ref.uid, type, reason, message])).digest('hex').slice(0, 16);
  // Object names run up to 253 characters; keep the event's within that.
  return `${(ref.name ?? '').slice(0, 200)}.${digest}`;
}

/** A core/v1 Event about `involved` (pure; the time is a parameter for tests). */
export function buildEvent(involved: Involved, type: EventType, reason: string, message: string, now = new Date()): Event {
  const ref = referenceOf(involved);
  const ts = formatTime(now);
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: eventName(ref, type, reason, message), namespace: ref.namespace ?? 'default' },
    involvedObject: ref,
    reason,
    message,
    type,
    count: 1,
    firstTimestamp: ts,
    lastTimestamp: ts,
    eventTime: null,
    source: { component: EVENT_SOURCE },
    reportingComponent: EVENT_SOURCE,
    reportingInstance: EVENT_SOURCE,
  };
}

export class EventRecorder {
  constructor(
    private readonly objects: ObjectAccess,
    private readonly log: Logger,
  ) {}

  async record(involved: Involved, type: EventType, reason: string, message: string): Promise<void> {
    const ev = buildEvent(involved, type, reason, message);
    const events = resourceByName('events')!;
    try {
      try {
        await this.objects.create(events, ev.metadata.namespace, ev);
      } catch (err) {
        if (!(err instanceof StatusError && err.reason === 'AlreadyExists')) throw err;
        // It happened before: one Event, counted.
        await this.objects.mutate(events, ev.metadata.namespace, ev.metadata.name!, undefined, (cur) => {
          const e = cur as Event;
          e.count = (e.count ?? 1) + 1;
          e.lastTimestamp = ev.lastTimestamp!;
          return e;
        });
      }
    } catch (err) {
      this.log.warn({ err: String(err), reason, involved: `${ev.involvedObject.kind}/${ev.involvedObject.namespace ?? ''}/${ev.involvedObject.name}` }, 'cannot record event');
    }
  }
}

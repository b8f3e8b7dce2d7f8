import type { Namespace, ReplicationController } from '@pilot/api';
import type { Strategy } from './strategy.js';

/** Namespaces are Active from birth (no namespace controller finalizes them yet). */
export const namespaceStrategy: Strategy = {
  prepareForCreate(obj) {
    (obj as Namespace).status = { phase: 'Active' };
  },
};

/** An RC's status belongs to the replication controller loop. */
export const replicationControllerStrategy: Strategy = {
  prepareForCreate(obj) {
    (obj as ReplicationController).status = { replicas: 0 };
  },
};

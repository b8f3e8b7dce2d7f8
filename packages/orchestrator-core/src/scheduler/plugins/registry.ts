/**
 * The default profile (`default-scheduler`): upstream's 1.32 plugin order
 * (default_plugins.go) for what pilot builds, with the Score weights in
 * KubeSchedulerConfiguration's defaults. PrioritySort is the queue's order,
 * DefaultBinder the bind in schedule-one.ts and DefaultPreemption the
 * no-victims PostFilter message in framework.ts; volume and inter-pod
 * affinity plugins are not built (nothing here has volumes to place or reads
 * pod affinity).
 */
import type { Plugin } from '../framework.js';
import { imageLocality } from './image-locality.js';
import { nodeAffinity } from './node-affinity.js';
import { nodeName } from './node-name.js';
import { nodePorts } from './node-ports.js';
import { nodeResourcesBalancedAllocation, nodeResourcesFit } from './node-resources-fit.js';
import { nodeUnschedulable } from './node-unschedulable.js';
import { podTopologySpread, type SpreadListers } from './pod-topology-spread.js';
import { taintToleration } from './taint-toleration.js';

export interface ProfilePlugin {
  plugin: Plugin;
  /** Score weight (0 for plugins that do not score). */
  weight: number;
}

export function defaultProfile(listers: SpreadListers): ProfilePlugin[] {
  return [
    { plugin: nodeUnschedulable, weight: 0 },
    { plugin: nodeName, weight: 0 },
    { plugin: taintToleration, weight: 3 },
    { plugin: nodeAffinity, weight: 2 },
    { plugin: nodePorts, weight: 0 },
    { plugin: nodeResourcesFit, weight: 1 },
    { plugin: podTopologySpread(listers), weight: 2 },
    { plugin: nodeResourcesBalancedAllocation, weight: 1 },
    { plugin: imageLocality, weight: 1 },
  ];
}

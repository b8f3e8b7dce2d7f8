import type { PodDisruptionBudget } from '@pilot/api';
import type { Strategy } from './strategy.js';
import { statusSubresource, type SubresourceMap } from './subresources.js';

/**
 * policy/v1 PodDisruptionBudget: its status is the disruption controller's
 * (and the eviction subresource's, which spends disruptionsAllowed). A new
 * budget allows nothing until the controller has looked at it.
 */
export const podDisruptionBudgetStrategy: Strategy = {
  prepareForCreate(obj) {
    (obj as PodDisruptionBudget).status = { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };
  },
};

export const podDisruptionBudgetSubresources: SubresourceMap = { status: statusSubresource };

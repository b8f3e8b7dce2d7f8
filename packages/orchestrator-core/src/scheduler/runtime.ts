/**
 * The framework runner (framework/runtime): runs a profile's plugins at each
 * extension point in order. Filter stops at the first plugin that rejects a
 * node (its Status is the node's reason); Score sums each plugin's
 * normalised score times its weight.
 */
import type { Pod } from '@pilot/api';
import { Code, CycleState, Status, type NodeScore, type Plugin } from './framework.js';
import type { NodeInfo, Snapshot } from './node-info.js';
import type { ProfilePlugin } from './plugins/registry.js';

const SKIP_FILTER = 'framework/skip-filter';
const SKIP_SCORE = 'framework/skip-score';

export class Framework {
  private readonly filters: Plugin[];
  private readonly preFilters: Plugin[];
  private readonly scorers: { plugin: Plugin; weight: number }[];

  constructor(readonly profileName: string, readonly plugins: readonly ProfilePlugin[]) {
    this.preFilters = plugins.filter((p) => p.plugin.preFilter).map((p) => p.plugin);
    this.filters = plugins.filter((p) => p.plugin.filter).map((p) => p.plugin);
    this.scorers = plugins.filter((p) => p.plugin.score && p.weight > 0);
  }

  /** PreFilter of every plugin; a rejection or error ends the cycle. Skips are remembered for Filter. */
  runPreFilterPlugins(state: CycleState, pod: Pod, snapshot: Snapshot): Status {
    const skip = new Set<string>();
    for (const p of this.preFilters) {
      const s = p.preFilter!(state, pod, snapshot);
      if (s.code === Code.Skip) skip.add(p.name);
      else if (!s.isSuccess()) return s.withPlugin(p.name);
    }
    state.write(SKIP_FILTER, skip);
    return Status.SUCCESS;
  }

  /** The first plugin that does not pass decides the node's status. */
  runFilterPlugins(state: CycleState, pod: Pod, ni: NodeInfo, snapshot: Snapshot, filters = this.activeFilters(state)): Status {
    for (const p of filters) {
      const s = p.filter!(state, pod, ni, snapshot);
      if (!s.isSuccess()) return s.withPlugin(p.name);
    }
    return Status.SUCCESS;
  }

  /** The Filter plugins of this cycle (those whose PreFilter did not Skip), to hoist out of the per-node loop. */
  activeFilters(state: CycleState): Plugin[] {
    const skip = state.read<Set<string>>(SKIP_FILTER);
    return skip?.size ? this.filters.filter((p) => !skip.has(p.name)) : this.filters;
  }

  runPreScorePlugins(state: CycleState, pod: Pod, feasible: readonly NodeInfo[], snapshot: Snapshot): Status {
    const skip = new Set<string>();
    for (const { plugin } of this.scorers) {
      if (!plugin.preScore) continue;
      const s = plugin.preScore(state, pod, feasible, snapshot);
      if (s.code === Code.Skip) skip.add(plugin.name);
      else if (!s.isSuccess()) return s.withPlugin(plugin.name);
    }
    state.write(SKIP_SCORE, skip);
    return Status.SUCCESS;
  }

  /** Σ over scoring plugins of weight × normalised score, per feasible node (in their order). */
  runScorePlugins(state: CycleState, pod: Pod, feasible: readonly NodeInfo[], snapshot: Snapshot): NodeScore[] {
    const n = feasible.length;
    const totals = new Float64Array(n);
    const skip = state.read<Set<string>>(SKIP_SCORE);
    for (const { plugin, weight } of this.scorers) {
      if (skip?.has(plugin.name)) continue;
      if (!plugin.normalizeScore) {
        // Nothing to rescale: add straight into the totals (no per-node objects on the hot path).
        for (let i = 0; i < n; i++) totals[i]! += weight * plugin.score!(state, pod, feasible[i]!, snapshot);
        continue;
      }
      const scores: NodeScore[] = new Array(n);
      for (let i = 0; i < n; i++) scores[i] = { name: feasible[i]!.name, score: plugin.score!(state, pod, feasible[i]!, snapshot) };
      plugin.normalizeScore(state, pod, scores);
      for (let i = 0; i < n; i++) totals[i]! += scores[i]!.score * weight;
    }
    const out: NodeScore[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = { name: feasible[i]!.name, score: totals[i]! };
    return out;
  }
}

export function newCycleState(): CycleState {
  return new CycleState();
}

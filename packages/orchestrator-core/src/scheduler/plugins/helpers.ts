/**
 * Matching rules several plugins share, as core/v1 helpers define them:
 * tolerations against taints, node selector terms against a node.
 */
import type { Node, NodeSelectorRequirement, NodeSelectorTerm, Pod } from '@pilot/api';

// The toleration rules are core/v1's (@pilot/api); re-exported for the plugins.
export { findUntoleratedTaint, toleratesTaint, tolerationsTolerateTaint } from '@pilot/api';

/** Go's strconv.ParseInt(v, 10, 64): an integer, else undefined. */
function parseInt64(v: string): number | undefined {
  return /^[+-]?\d+$/.test(v) ? Number(v) : undefined;
}

/** One requirement against a label (or field) map (nodeaffinity's requirement semantics). */
function requirementMatches(r: NodeSelectorRequirement, values: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(values, r.key);
  const v = has ? values[r.key]! : undefined;
  const list = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return has && list.includes(v!);
    case 'NotIn':
      return !has || !list.includes(v!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      // Exactly one integer value; a label that is not an integer never matches.
      if (!has || list.length !== 1) return false;
      const want = parseInt64(list[0]!);
      const got = parseInt64(v!);
      if (want === undefined || got === undefined) return false;
      return r.operator === 'Gt' ? got > want : got < want;
    }
    default:
      return false;
  }
}

/**
 * A NodeSelectorTerm: its expressions (labels) and fields (only
 * `metadata.name`) are ANDed; a term with neither matches nothing.
 */
export function termMatches(term: NodeSelectorTerm, node: Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata.labels ?? {};
  if (!exprs.every((r) => requirementMatches(r, labels))) return false;
  const fieldSet = { 'metadata.name': node.metadata.name ?? '' };
  return fields.every((r) => r.key === 'metadata.name' && (r.operator === 'In' || r.operator === 'NotIn') && requirementMatches(r, fieldSet));
}

/**
 * nodeaffinity.GetRequiredNodeAffinity(pod): the pod's nodeSelector (every
 * label equal) and, when set, its required node affinity (any term matches),
 * prepared once per pod; `match(node)` runs per node.
 */
export class RequiredNodeAffinity {
  private readonly selector: [string, string][];
  private readonly terms: NodeSelectorTerm[] | undefined;

  constructor(pod: Pod) {
    this.selector = Object.entries(pod.spec?.nodeSelector ?? {});
    this.terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? (pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution ? [] : undefined);
  }

  /** Nothing to check: every node matches. */
  get empty(): boolean {
    return this.selector.length === 0 && this.terms === undefined;
  }

  match(node: Node): boolean {
    const labels = node.metadata.labels ?? {};
    for (const [k, v] of this.selector) if (labels[k] !== v) return false;
    if (this.terms === undefined) return true;
    for (const t of this.terms) if (termMatches(t, node)) return true;
    return false;
  }
}

export function requiredNodeAffinityMatches(pod: Pod, node: Node): boolean {
  return new RequiredNodeAffinity(pod).match(node);
}

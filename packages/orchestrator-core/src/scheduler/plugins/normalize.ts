import { MAX_NODE_SCORE, type NodeScore } from '../framework.js';

/**
 * helper.DefaultNormalizeScore: scales scores to 0..max by the highest one
 * (integer division as upstream); `reverse` turns "more is worse" into a score.
 * All zero: everyone gets 0, or max when reversed.
 */
export function defaultNormalizeScore(scores: NodeScore[], reverse: boolean, max = MAX_NODE_SCORE): void {
  let maxCount = 0;
  for (const s of scores) if (s.score > maxCount) maxCount = s.score;
  if (maxCount === 0) {
    if (reverse) for (const s of scores) s.score = max;
    return;
  }
  for (const s of scores) {
    let v = Math.trunc((max * s.score) / maxCount);
    if (reverse) v = max - v;
    s.score = v;
  }
}

/**
 * Eviction rate limiting by zone (upstream's zone states, ComputeZoneState,
 * setLimiterInZone and handleDisruption), pure but for the token bucket's
 * clock, which is passed in.
 *
 * Adding a NoExecute taint to a node (which evicts its pods) costs a token
 * from its zone's bucket (`--node-eviction-rate` per second, burst 1), so a
 * network partition does not empty the cluster at once:
 * - a zone with no Ready node is FullDisruption: it keeps the normal rate;
 * - a zone with more than 2 not-Ready nodes making at least
 *   `--unhealthy-zone-threshold` of it is PartialDisruption: the secondary
 *   rate, or 0 when the cluster has at most `--large-cluster-size-threshold`
 *   nodes;
 * - when every zone is FullDisruption the controller suspects itself (or the
 *   apiserver) rather than the nodes: it adds no NoExecute taint and removes
 *   the ones it added ("master disruption mode"), until some node is Ready.
 */
import type { Node } from '@pilot/api';

export type ZoneState = 'Normal' | 'PartialDisruption' | 'FullDisruption';

/** The zone of a node: region and zone labels joined as upstream's GetZoneKey; '' for a node without them. */
export function zoneKey(node: Node): string {
  const l = node.metadata.labels ?? {};
  const region = l['topology.kubernetes.io/region'] ?? l['failure-domain.beta.kubernetes.io/region'] ?? '';
  const zone = l['topology.kubernetes.io/zone'] ?? l['failure-domain.beta.kubernetes.io/zone'] ?? '';
  return region === '' && zone === '' ? '' : `${region}:\x00:${zone}`;
}

/** A zone's state from its nodes' Ready statuses (undefined: no Ready condition, counted as not Ready). */
export function computeZoneState(readyStatuses: readonly (string | undefined)[], unhealthyZoneThreshold: number): ZoneState {
  let ready = 0;
  let notReady = 0;
  for (const s of readyStatuses) {
    if (s === 'True') ready++;
    else notReady++;
  }
  if (ready === 0 && notReady > 0) return 'FullDisruption';
  if (notReady > 2 && notReady / (notReady + ready) >= unhealthyZoneThreshold) return 'PartialDisruption';
  return 'Normal';
}

export interface EvictionRates {
  nodeEvictionRate: number;
  secondaryNodeEvictionRate: number;
  largeClusterSizeThreshold: number;
}

/** NoExecute taints per second allowed in a zone of `zoneSize` nodes in `state`. */
export function zoneEvictionRate(state: ZoneState, zoneSize: number, r: EvictionRates): number {
  switch (state) {
    case 'Normal':
    case 'FullDisruption':
      return r.nodeEvictionRate;
    case 'PartialDisruption':
      return zoneSize <= r.largeClusterSizeThreshold ? 0 : r.secondaryNodeEvictionRate;
  }
}

/** Every zone's state, and whether all of them are fully disrupted. */
export function zoneStates(nodes: readonly Node[], readyStatus: (n: Node) => string | undefined, unhealthyZoneThreshold: number): { states: Map<string, { state: ZoneState; size: number }>; allFullyDisrupted: boolean } {
  const byZone = new Map<string, (string | undefined)[]>();
  for (const n of nodes) {
    const k = zoneKey(n);
    let list = byZone.get(k);
    if (!list) byZone.set(k, (list = []));
    list.push(readyStatus(n));
  }
  const states = new Map<string, { state: ZoneState; size: number }>();
  for (const [k, list] of byZone) states.set(k, { state: computeZoneState(list, unhealthyZoneThreshold), size: list.length });
  const allFullyDisrupted = states.size > 0 && [...states.values()].every((s) => s.state === 'FullDisruption');
  return { states, allFullyDisrupted };
}

/** client-go's token bucket (flowcontrol.NewTokenBucketRateLimiter) without blocking: tryAccept or not. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private qps: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes a token when one is there; a rate of 0 never gives one. */
  tryAccept(now: number): boolean {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Changes the rate (a zone changed state); tokens earned so far are kept. */
  setRate(qps: number, now: number): void {
    this.refill(now);
    this.qps = qps;
  }

  get rate(): number {
    return this.qps;
  }

  private refill(now: number): void {
    if (now > this.last) this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = Math.max(this.last, now);
  }
}

import type { Node } from '@pilot/api';
import { computeZoneState, TokenBucket, zoneEvictionRate, zoneKey, zoneStates } from '../../../src/controller/nodelifecycle/zones.js';

const rates = { nodeEvictionRate: 0.1, secondaryNodeEvictionRate: 0.01, largeClusterSizeThreshold: 50 };
const node = (name: string, ready: string | undefined, zone?: string): Node => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, labels: zone ? { 'topology.kubernetes.io/region': 'r', 'topology.kubernetes.io/zone': zone } : {} },
  status: { conditions: ready ? [{ type: 'Ready', status: ready as 'True' }] : [] },
});

describe('zone states (ComputeZoneState)', () => {
  it.each<[(string | undefined)[], string]>([
    [['True', 'True'], 'Normal'],
    [['True', 'Unknown'], 'Normal'],
    [['True', 'Unknown', 'False'], 'Normal'],
    [['True', 'Unknown', 'False', undefined], 'PartialDisruption'],
    [['True', 'True', 'Unknown', 'False', 'False'], 'PartialDisruption'],
    [['True', 'True', 'True', 'Unknown', 'False', 'False'], 'Normal'],
    [['Unknown'], 'FullDisruption'],
    [[undefined, 'False'], 'FullDisruption'],
  ])('%j → %s', (statuses, want) => {
    expect(computeZoneState(statuses, 0.55)).toBe(want);
  });

  it('eviction rates: normal and fully disrupted zones at --node-eviction-rate, a partially disrupted one at the secondary rate only in large clusters', () => {
    expect(zoneEvictionRate('Normal', 3, rates)).toBe(0.1);
    expect(zoneEvictionRate('FullDisruption', 3, rates)).toBe(0.1);
    expect(zoneEvictionRate('PartialDisruption', 50, rates)).toBe(0);
    expect(zoneEvictionRate('PartialDisruption', 51, rates)).toBe(0.01);
  });

  it('groups nodes by region and zone; all zones fully disrupted is master disruption', () => {
    expect(zoneKey(node('a', 'True'))).toBe('');
    expect(zoneKey(node('a', 'True', 'z1'))).toBe('r:\x00:z1');
    const some = zoneStates([node('a', 'True', 'z1'), node('b', 'Unknown', 'z2')], (n) => n.status?.conditions?.[0]?.status, 0.55);
    expect(some.allFullyDisrupted).toBe(false);
    expect([...some.states.entries()]).toEqual([
      ['r:\x00:z1', { state: 'Normal', size: 1 }],
      ['r:\x00:z2', { state: 'FullDisruption', size: 1 }],
    ]);
    expect(zoneStates([node('a', 'Unknown', 'z1'), node('b', undefined, 'z2')], (n) => n.status?.conditions?.[0]?.status, 0.55).allFullyDisrupted).toBe(true);
    expect(zoneStates([], () => undefined, 0.55).allFullyDisrupted).toBe(false);
  });
});

describe('TokenBucket', () => {
  it('gives its burst at once, then one token per 1/rate seconds', () => {
    const b = new TokenBucket(0.1, 1, 0);
    expect(b.tryAccept(0)).toBe(true);
    expect(b.tryAccept(5_000)).toBe(false);
    expect(b.tryAccept(9_999)).toBe(false);
    expect(b.tryAccept(10_000)).toBe(true);
    expect(b.tryAccept(10_000)).toBe(false);
  });
  it('never refills past its burst, and gives nothing at rate 0', () => {
    const b = new TokenBucket(1, 1, 0);
    expect(b.tryAccept(100_000)).toBe(true);
    expect(b.tryAccept(100_000)).toBe(false);
    b.setRate(0, 100_000);
    expect(b.tryAccept(1_000_000)).toBe(false);
  });
});

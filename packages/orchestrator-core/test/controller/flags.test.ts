import { FlagError } from '@pilot/common';
import { resolveConfig } from '../../src/controller/flags.js';
import { enabledControllers, type ControllerEntry } from '../../src/controller/manager.js';

describe('pilot controller-manager flags', () => {
  it('defaults as kube-controller-manager: leader election on (kube-system/kube-controller-manager, 15s/10s/2s), every controller, 5 syncs, 5s/50s/60s node monitor, eviction 0.1/0.01 per second, zones of 50 at 0.55', () => {
    expect(resolveConfig({})).toEqual({
      leaderElect: true,
      leaderElectLeaseDurationMs: 15_000,
      leaderElectRenewDeadlineMs: 10_000,
      leaderElectRetryPeriodMs: 2_000,
      leaderElectResourceNamespace: 'kube-system',
      leaderElectResourceName: 'kube-controller-manager',
      controllers: ['*'],
      concurrentRcSyncs: 5,
      concurrentReplicasetSyncs: 5,
      concurrentDeploymentSyncs: 5,
      concurrentEndpointSyncs: 5,
      nodeMonitorPeriodMs: 5_000,
      nodeMonitorGracePeriodMs: 50_000,
      nodeStartupGracePeriodMs: 60_000,
      nodeEvictionRate: 0.1,
      secondaryNodeEvictionRate: 0.01,
      largeClusterSizeThreshold: 50,
      unhealthyZoneThreshold: 0.55,
      healthzBindAddress: '127.0.0.1',
      healthzPort: 10252,
    });
  });
  it.each([
    [{ leaderElect: 'maybe' }, '--leader-elect: "maybe" is not true or false'],
    [{ leaderElectLeaseDuration: '5s' }, '--leader-elect-lease-duration: lease duration (5000 ms) must be greater than the renew deadline (10000 ms)'],
    [{ nodeMonitorGracePeriod: '2s' }, '--node-monitor-grace-period: 2s is shorter than --node-monitor-period 5s'],
    [{ concurrentRcSyncs: '0' }, '--concurrent-rc-syncs: "0" is not an integer in 1..1000'],
    [{ nodeEvictionRate: 'fast' }, '--node-eviction-rate: "fast" is not a number in 0..1000000'],
    [{ unhealthyZoneThreshold: '1.5' }, '--unhealthy-zone-threshold: "1.5" is not a number in 0..1'],
    [{ controllers: ' , ' }, '--controllers: must name at least one controller or *'],
    [{ healthzBindAddress: '0.0.0.0' }, '--healthz-bind-address: 0.0.0.0 is not a loopback address; /healthz and /metrics are plain HTTP without authentication'],
  ])('%j → %s', (raw, msg) => {
    let err: unknown;
    try {
      resolveConfig(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FlagError);
    expect((err as FlagError).message).toContain(msg);
  });
});

describe('--controllers', () => {
  const f = () => undefined;
  const table: Record<string, ControllerEntry> = { replication: { factory: f }, endpoints: { factory: f }, bootstrapsigner: { factory: f, disabledByDefault: true } };
  it.each([
    [['*'], ['replication', 'endpoints']],
    [['*', '-endpoints'], ['replication']],
    [['endpoints'], ['endpoints']],
    [['*', 'bootstrapsigner'], ['replication', 'endpoints', 'bootstrapsigner']],
    [['-replication'], []],
  ])('%j runs %j', (list, want) => {
    expect(enabledControllers(list, table)).toEqual(want);
  });
  it('names the known controllers for an unknown one', () => {
    expect(() => enabledControllers(['replicaton'], table)).toThrow('unknown controller "replicaton" (known: replication, endpoints, bootstrapsigner)');
  });
});

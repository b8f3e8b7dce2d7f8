import { FlagError } from '@pilot/common';
import { resolveConfig } from '../../src/scheduler/flags.js';

describe('pilot scheduler flags', () => {
  it('defaults as kube-scheduler: leader election on, 15s/10s/2s, default-scheduler, 1s..10s back-off, loopback health port', () => {
    expect(resolveConfig({})).toEqual({
      leaderElect: true,
      leaderElectLeaseDurationMs: 15_000,
      leaderElectRenewDeadlineMs: 10_000,
      leaderElectRetryPeriodMs: 2_000,
      leaderElectResourceNamespace: 'kube-system',
      leaderElectResourceName: 'kube-scheduler',
      schedulerName: 'default-scheduler',
      podInitialBackoffMs: 1000,
      podMaxBackoffMs: 10_000,
      healthzBindAddress: '127.0.0.1',
      healthzPort: 10251,
    });
  });
  it.each([
    [{ leaderElect: 'maybe' }, '--leader-elect: "maybe" is not true or false'],
    [{ leaderElectLeaseDuration: '5s' }, '--leader-elect-lease-duration: lease duration (5000 ms) must be greater than the renew deadline (10000 ms)'],
    [{ podInitialBackoff: '5s', podMaxBackoff: '2s' }, '--pod-max-backoff: 2s is shorter than --pod-initial-backoff 5s'],
    [{ healthzBindAddress: '0.0.0.0' }, '--healthz-bind-address: 0.0.0.0 is not a loopback address; /healthz and /metrics are plain HTTP without authentication'],
    [{ podMaxBackoff: 'soon' }, '--pod-max-backoff:'],
  ])('%j → %s', (raw, msg) => {
    let err: unknown;
    try {
      resolveConfig(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FlagError);
    expect((err as Error).message.startsWith(msg)).toBe(true);
  });
  it('leader election off ignores the timings check', () => {
    expect(resolveConfig({ leaderElect: 'false', leaderElectLeaseDuration: '5s' }).leaderElect).toBe(false);
  });
});

import { createLogger, waitFor } from '@pilot/common';
import { ApiClient } from '../src/client.js';
import { electionStep, LeaderElector, validateLeaderElection, type Observation } from '../src/leader-election.js';
import type { Lease, LeaseSpec } from '../src/types.js';
import { FakeApiServer } from './support/fake-apiserver.js';

const silent = createLogger('test', { level: 'silent' });
const MICRO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

describe('electionStep (client-go tryAcquireOrRenew)', () => {
  const t0 = Date.parse('2026-12-02T10:00:00Z');

  it('creates a Lease that does not exist, holding it with 0 transitions and MicroTime stamps', () => {
    const { step } = electionStep(undefined, undefined, t0, 'me', 15);
    expect(step.kind).toBe('create');
    const spec = (step as { spec: LeaseSpec }).spec;
    expect(spec).toMatchObject({ holderIdentity: 'me', leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(spec.renewTime).toMatch(MICRO);
    expect(spec.acquireTime).toBe(spec.renewTime);
  });

  it('waits while another holder renews, however old its renewTime says it is', () => {
    // The holder's clock is far behind ours: only our own observation counts.
    const theirs: LeaseSpec = { holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: '2001-01-01T00:00:00.000000Z', leaseTransitions: 3 };
    const first = electionStep(theirs, undefined, t0, 'me', 15);
    expect(first.step).toEqual({ kind: 'wait', holder: 'other' });
    const later = electionStep(theirs, first.observed, t0 + 14_999, 'me', 15);
    expect(later.step.kind).toBe('wait');
    // A renew (any change) restarts our count.
    const renewed = { ...theirs, renewTime: '2001-01-01T00:00:14.000000Z' };
    const afterRenew = electionStep(renewed, later.observed, t0 + 14_999, 'me', 15);
    expect(afterRenew.step.kind).toBe('wait');
    expect(afterRenew.observed!.at).toBe(t0 + 14_999);
    expect(electionStep(renewed, afterRenew.observed, t0 + 14_999 + 14_999, 'me', 15).step.kind).toBe('wait');
  });

  it('takes a Lease unchanged for its duration, counting a transition', () => {
    const theirs: LeaseSpec = { holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: '2026-12-02T10:00:00.000000Z', acquireTime: '2026-12-02T09:00:00.000000Z', leaseTransitions: 3 };
    const seen: Observation = { spec: theirs, raw: JSON.stringify(theirs), at: t0 };
    const { step } = electionStep(theirs, seen, t0 + 15_000, 'me', 15);
    expect(step.kind).toBe('update');
    const spec = (step as { spec: LeaseSpec }).spec;
    expect(spec.holderIdentity).toBe('me');
    expect(spec.leaseTransitions).toBe(4);
    expect(spec.acquireTime).toBe('2026-12-02T10:00:15.000000Z');
  });

  it('takes a released Lease (empty holder) at once', () => {
    const released: LeaseSpec = { holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 2 };
    const { step } = electionStep(released, undefined, t0, 'me', 15);
    expect(step.kind).toBe('update');
    expect((step as { spec: LeaseSpec }).spec).toMatchObject({ holderIdentity: 'me', leaseDurationSeconds: 15, leaseTransitions: 3 });
  });

  it('renews its own Lease keeping acquireTime and transitions', () => {
    const mine: LeaseSpec = { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: '2026-12-02T09:59:00.000000Z', renewTime: '2026-12-02T09:59:58.000000Z', leaseTransitions: 5 };
    const { step } = electionStep(mine, undefined, t0, 'me', 15);
    expect(step.kind).toBe('update');
    expect((step as { spec: LeaseSpec }).spec).toMatchObject({ holderIdentity: 'me', acquireTime: '2026-12-02T09:59:00.000000Z', renewTime: '2026-12-02T10:00:00.000000Z', leaseTransitions: 5 });
  });

  it('rejects durations client-go rejects', () => {
    expect(validateLeaderElection(15_000, 10_000, 2_000)).toBeUndefined();
    expect(validateLeaderElection(10_000, 10_000, 2_000)).toMatch(/lease duration .* greater than the renew deadline/);
    expect(validateLeaderElection(15_000, 2_000, 2_000)).toMatch(/1.2 × the retry period/);
    expect(validateLeaderElection(15_000, 10_000, 0)).toMatch(/retry period must be positive/);
  });
});

describe('LeaderElector against an API server', () => {
  let server: FakeApiServer;
  let client: ApiClient;
  // Generous against a loaded machine: a renew that misses its deadline makes
  // the leader step down, which these tests would read as a wrong hand-over.
  const timings = { leaseDurationMs: 3_500, renewDeadlineMs: 3_000, retryPeriodMs: 100 };

  beforeEach(async () => {
    server = await FakeApiServer.start();
    client = new ApiClient({ server: server.url });
  });
  afterEach(async () => {
    client.close();
    await server.stop();
  });

  function candidate(identity: string, opts: { releaseOnCancel?: boolean } = {}) {
    const ac = new AbortController();
    const state = { leading: false, starts: 0, stops: 0, workAborted: 0 };
    const elector = new LeaderElector({
      client,
      namespace: 'kube-system',
      name: 'kube-scheduler',
      identity,
      ...timings,
      ...opts,
      logger: silent,
      callbacks: {
        onStartedLeading: async (signal) => {
          state.leading = true;
          state.starts++;
          await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
          state.workAborted++;
          state.leading = false;
        },
        onStoppedLeading: () => void state.stops++,
      },
    });
    const done = elector.run(ac.signal);
    return { ac, state, elector, done };
  }

  const lease = () => server.items('leases').find((l) => l.metadata.name === 'kube-scheduler') as Lease | undefined;

  it('lets exactly one of two candidates lead, and hands over on a graceful stop', async () => {
    const a = candidate('host_a');
    await waitFor(() => a.state.leading, { what: 'a leading', timeoutMs: 5_000 });
    const b = candidate('host_b');
    // b sees a valid holder and waits: for several of its retry periods it never leads.
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, timings.retryPeriodMs));
      expect(b.state.leading).toBe(false);
    }
    expect(lease()!.spec).toMatchObject({ holderIdentity: 'host_a', leaseDurationSeconds: 4, leaseTransitions: 0 });
    expect(lease()!.spec!.renewTime).toMatch(MICRO);

    a.ac.abort();
    expect(await a.done).toBe('stopped');
    expect(a.state).toMatchObject({ leading: false, workAborted: 1, stops: 1 });
    // Released: empty holder, 1 s, so b need not wait out the lease duration
    // (unless b's acquiring write already landed; its state flips only when the answer arrives).
    const released = lease()!.spec!;
    if (released.holderIdentity !== 'host_b') expect(released).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 0 });
    await waitFor(() => b.state.leading, { what: 'b leading after release', timeoutMs: 10_000 });
    expect(lease()!.spec).toMatchObject({ holderIdentity: 'host_b', leaseTransitions: 1 });
    b.ac.abort();
    await b.done;
  });

  it('takes over from a leader that vanished without releasing, after the lease duration', async () => {
    const a = candidate('host_a', { releaseOnCancel: false });
    await waitFor(() => a.state.leading, { what: 'a leading', timeoutMs: 5_000 });
    const b = candidate('host_b');
    a.ac.abort(); // a crash: no release
    await a.done;
    expect(lease()!.spec!.holderIdentity).toBe('host_a');
    const start = Date.now();
    await waitFor(() => b.state.leading, { what: 'b leading after expiry', timeoutMs: 20_000 });
    // Not before the lease (4 s rounded up from 3.5 s) was unchanged for its duration.
    expect(Date.now() - start).toBeGreaterThanOrEqual(timings.leaseDurationMs);
    expect(lease()!.spec).toMatchObject({ holderIdentity: 'host_b', leaseTransitions: 1 });
    b.ac.abort();
    await b.done;
  });

  it('stops leading when it cannot renew within the renew deadline', async () => {
    const a = candidate('host_a');
    await waitFor(() => a.state.leading, { what: 'a leading', timeoutMs: 5_000 });
    // Someone else overwrites the Lease (e.g. an operator): every renew now conflicts with what a holds.
    const cur = lease()!;
    server.put('leases', { ...cur, spec: { ...cur.spec, holderIdentity: 'intruder' } });
    expect(await a.done).toBe('lost');
    expect(a.state).toMatchObject({ leading: false, workAborted: 1, stops: 1 });
    // Lost leaders do not release: the intruder keeps it.
    expect(lease()!.spec!.holderIdentity).toBe('intruder');
  });
});

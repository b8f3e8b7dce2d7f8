import type { Job, Pod } from '@pilot/api';
import {
  failureBackoffMs,
  isJobFinished,
  MESSAGE_BACKOFF_LIMIT_EXCEEDED,
  planJob,
  REASON_BACKOFF_LIMIT_EXCEEDED,
  REASON_COMPLETIONS_REACHED,
  wantActive,
} from '../../src/controller/job/job-plan.js';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function job(spec: Partial<NonNullable<Job['spec']>>, status: Job['status'] = {}): Job {
  return { metadata: { name: 'j', namespace: 'ns', uid: 'u1' }, spec: { parallelism: 1, completions: 1, backoffLimit: 6, template: {}, ...spec }, status };
}

let n = 0;
function pod(phase: string, extra: { deleting?: boolean; finishedAgoS?: number; ready?: boolean } = {}): Pod {
  const p: Pod = { metadata: { name: `p${n++}`, creationTimestamp: iso(NOW - 60_000) }, status: { phase } };
  if (extra.deleting) p.metadata.deletionTimestamp = iso(NOW);
  if (extra.ready) p.status!.conditions = [{ type: 'Ready', status: 'True' }];
  if (extra.finishedAgoS !== undefined) p.status!.containerStatuses = [{ name: 'c', ready: false, restartCount: 0, image: '', imageID: '', state: { terminated: { exitCode: 1, finishedAt: iso(NOW - extra.finishedAgoS * 1000) } } }];
  return p;
}

describe('job planning', () => {
  it('runs at most parallelism pods and never more than the completions still missing', () => {
    expect(wantActive(job({ parallelism: 2, completions: 3 }), 0)).toBe(2);
    expect(wantActive(job({ parallelism: 2, completions: 3 }), 2)).toBe(1);
    expect(wantActive(job({ parallelism: 2, completions: 3 }), 3)).toBe(0);
    // Without completions, any success means no new pods.
    expect(wantActive(job({ parallelism: 3, completions: null }), 0)).toBe(3);
    expect(wantActive(job({ parallelism: 3, completions: null }), 1)).toBe(0);
  });

  it('starts parallelism pods for a new Job and stamps its start time', () => {
    const plan = planJob(job({ parallelism: 2, completions: 3 }), [], NOW);
    expect(plan.create).toBe(2);
    expect(plan.status.startTime).toBe(iso(NOW));
  });

  it('tops up after a success but not past the missing completions', () => {
    const plan = planJob(job({ parallelism: 2, completions: 3 }), [pod('Succeeded'), pod('Succeeded'), pod('Running')], NOW);
    expect(plan.create).toBe(0);
    expect(plan.status).toMatchObject({ succeeded: 2, active: 1 });
  });

  it('completes once succeeded reaches completions, with SuccessCriteriaMet before Complete', () => {
    const plan = planJob(job({ parallelism: 2, completions: 3 }), [pod('Succeeded'), pod('Succeeded'), pod('Succeeded')], NOW);
    const types = plan.status.conditions!.map((c) => [c.type, c.reason]);
    expect(types).toEqual([
      ['SuccessCriteriaMet', REASON_COMPLETIONS_REACHED],
      ['Complete', REASON_COMPLETIONS_REACHED],
    ]);
    expect(plan.status.completionTime).toBe(iso(NOW));
    expect(isJobFinished({ ...job({}), status: plan.status })).toBe(true);
  });

  it('waits out the failure back-off before replacing a failed pod', () => {
    const failedJustNow = planJob(job({ backoffLimit: 3 }), [pod('Failed', { finishedAgoS: 2 })], NOW);
    expect(failedJustNow.create).toBe(0);
    expect(failedJustNow.requeueAfterMs).toBe(8_000);
    const later = planJob(job({ backoffLimit: 3 }), [pod('Failed', { finishedAgoS: 11 })], NOW);
    expect(later.create).toBe(1);
    expect(failureBackoffMs(1)).toBe(10_000);
    expect(failureBackoffMs(3)).toBe(40_000);
    expect(failureBackoffMs(30)).toBe(600_000);
  });

  it('fails with BackoffLimitExceeded when failures pass backoffLimit, stopping what still runs', () => {
    const running = pod('Running');
    const plan = planJob(job({ backoffLimit: 1, parallelism: 2, completions: 2 }), [pod('Failed'), pod('Failed'), running], NOW);
    expect(plan.create).toBe(0);
    expect(plan.deleteActive).toEqual([running]);
    // The final condition waits for the last active pod to go.
    expect(plan.status.conditions!.map((c) => c.type)).toEqual(['FailureTarget']);
    const after = planJob({ ...job({ backoffLimit: 1, parallelism: 2, completions: 2 }), status: plan.status }, [pod('Failed'), pod('Failed')], NOW);
    const failed = after.status.conditions!.find((c) => c.type === 'Failed');
    expect(failed).toMatchObject({ status: 'True', reason: REASON_BACKOFF_LIMIT_EXCEEDED, message: MESSAGE_BACKOFF_LIMIT_EXCEEDED });
  });

  it('does not fail at exactly backoffLimit failures', () => {
    const plan = planJob(job({ backoffLimit: 1 }), [pod('Failed', { finishedAgoS: 60 })], NOW);
    expect(plan.status.conditions ?? []).toEqual([]);
    expect(plan.create).toBe(1);
  });

  it('keeps counts that pods no longer show', () => {
    const plan = planJob(job({ completions: 3, parallelism: 1 }, { succeeded: 2, failed: 1 }), [], NOW);
    expect(plan.status).toMatchObject({ succeeded: 2, failed: 1 });
  });

  it('does not count terminating pods as active', () => {
    const plan = planJob(job({ parallelism: 2, completions: 2 }), [pod('Running', { deleting: true, ready: true })], NOW);
    expect(plan.status).toMatchObject({ active: 0, terminating: 1 });
    expect(plan.create).toBe(2);
  });
});

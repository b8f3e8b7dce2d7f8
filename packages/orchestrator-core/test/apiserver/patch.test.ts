import { applyPatch } from '../../src/apiserver/registry/patch.js';
import { StatusError } from '../../src/apiserver/status.js';

describe('PATCH bodies', () => {
  it('strategic merge keeps the container fields a patch does not name (kubectl apply of a new image)', () => {
    const pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'x:1', command: ['sleep', '1'] }, { name: 'b', image: 'y' }] } };
    const out = applyPatch('strategic-merge-patch', pod, { spec: { containers: [{ name: 'a', image: 'x:2' }] } }, 'Pod', 'v1') as typeof pod;
    expect(out.spec.containers).toEqual([{ name: 'a', image: 'x:2', command: ['sleep', '1'] }, { name: 'b', image: 'y' }]);
  });

  it('strategic merge upserts pod conditions by type (the kubelet status patch)', () => {
    const pod = { metadata: { name: 'p' }, status: { conditions: [{ type: 'Ready', status: 'False' }] } };
    const out = applyPatch('strategic-merge-patch', pod, { status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'Initialized', status: 'True' }] } }, 'Pod', 'v1') as typeof pod;
    expect(out.status.conditions).toEqual([{ type: 'Ready', status: 'True' }, { type: 'Initialized', status: 'True' }]);
  });

  it('merge patch deletes with null; a kind without schema takes a strategic patch as a merge patch', () => {
    expect(applyPatch('merge-patch', { a: 1, b: { c: 2 } }, { b: { c: null } }, 'Pod', 'v1')).toEqual({ a: 1, b: {} });
    expect(applyPatch('strategic-merge-patch', { spec: { replicas: 1 } }, { spec: { replicas: 3 } }, 'Scale', 'autoscaling/v1')).toEqual({ spec: { replicas: 3 } });
  });

  it('turns patch failures into Status errors with the right code', () => {
    const fail = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return err as StatusError;
      }
      throw new Error('expected a failure');
    };
    expect(fail(() => applyPatch('json-patch', { a: 1 }, [{ op: 'remove', path: '/nope' }], 'Pod', 'v1'))).toMatchObject({ code: 422 });
    expect(fail(() => applyPatch('json-patch', { a: 1 }, { op: 'add' }, 'Pod', 'v1'))).toMatchObject({ code: 400, reason: 'BadRequest' });
    expect(fail(() => applyPatch('json' as never, {}, {}, 'Pod', 'v1'))).toMatchObject({ code: 415 });
  });
});

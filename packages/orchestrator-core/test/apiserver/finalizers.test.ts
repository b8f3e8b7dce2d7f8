import { deletionFinalizers } from '../../src/apiserver/registry/finalizers.js';

describe('the finalizers a delete leaves (deletionFinalizersForGarbageCollection)', () => {
  it.each([
    // [current, options, default policy, expected]
    [[], {}, 'DeleteDependents', []],
    [[], {}, 'OrphanDependents', ['orphan']],
    [[], { propagationPolicy: 'Background' }, 'OrphanDependents', []],
    [[], { propagationPolicy: 'Orphan' }, 'DeleteDependents', ['orphan']],
    [[], { propagationPolicy: 'Foreground' }, 'DeleteDependents', ['foregroundDeletion']],
    [['x/keep', 'orphan'], { propagationPolicy: 'Foreground' }, 'DeleteDependents', ['x/keep', 'foregroundDeletion']],
    [['foregroundDeletion'], {}, 'OrphanDependents', ['foregroundDeletion']],
    [['orphan'], {}, 'DeleteDependents', ['orphan']],
    [[], { orphanDependents: true }, 'DeleteDependents', ['orphan']],
    [['foregroundDeletion'], { orphanDependents: false }, 'DeleteDependents', []],
    [['x/keep'], { propagationPolicy: 'Orphan' }, 'Unsupported', ['x/keep']],
  ] as const)('%j with %j (default %s) → %j', (current, opts, policy, want) => {
    expect(deletionFinalizers(current, opts, policy)).toEqual(want);
  });
});

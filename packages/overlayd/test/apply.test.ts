import { applyDiff, type KernelWriter } from '../src/apply.js';
import { KernelError } from '../src/netlink.js';
import { diffEntries, emptyEntries, type KernelEntries } from '../src/reconcile.js';

/** A kernel edge that records each change, and fails the ones the test names with an errno. */
function recordingKernel(failures: Record<string, string> = {}) {
  const calls: string[] = [];
  const change = (name: string) => async (x: object) => {
    const call = `${name} ${JSON.stringify(x)}`;
    calls.push(name);
    const code = Object.entries(failures).find(([k]) => call.includes(k))?.[1];
    if (code) throw new KernelError(name, code, new Error(`${code} from the kernel`));
  };
  const kernel: KernelWriter = {
    addRoute: change('addRoute'),
    delRoute: change('delRoute'),
    setNeigh: change('setNeigh'),
    delNeigh: change('delNeigh'),
    addFdb: change('addFdb'),
    delFdb: change('delFdb'),
  };
  return { kernel, calls };
}

const peer = (n: number, mac: string): KernelEntries => ({
  routes: [{ dst: `10.1.${n}.0/24`, gateway: `10.1.${n}.0`, ifindex: 7, onlink: true }],
  neighs: [{ ip: `10.1.${n}.0`, mac, ifindex: 7 }],
  fdb: [{ mac, dst: `172.30.0.${n}`, ifindex: 7 }],
});

describe('applying a diff', () => {
  it('removes first, then adds neighbour, FDB entry and route in that order', async () => {
    const { kernel, calls } = recordingKernel();
    const r = await applyDiff(kernel, diffEntries(peer(5, '02:00:00:00:00:05'), peer(6, '02:00:00:00:00:06')));
    expect(calls).toEqual(['delRoute', 'delNeigh', 'delFdb', 'setNeigh', 'addFdb', 'addRoute']);
    expect(r).toEqual({ changed: 6, conflicts: [], errors: [] });
  });

  it('counts an entry that was already gone as no change and no error', async () => {
    const { kernel } = recordingKernel({ delRoute: 'ESRCH', delNeigh: 'ENOENT' });
    const r = await applyDiff(kernel, diffEntries(emptyEntries(), peer(6, '02:00:00:00:00:06')));
    expect(r).toEqual({ changed: 1, conflicts: [], errors: [] });
  });

  it('leaves a route someone else installed alone and reports it as a conflict', async () => {
    const { kernel } = recordingKernel({ addRoute: 'EEXIST' });
    const want = peer(5, '02:00:00:00:00:05');
    const r = await applyDiff(kernel, diffEntries(want, emptyEntries()));
    expect(r).toEqual({ changed: 2, conflicts: want.routes, errors: [] });
  });

  it('goes on past a failed change and names each failure', async () => {
    const { kernel, calls } = recordingKernel({ '10.1.5.0': 'EPERM' });
    const desired = { routes: [...peer(5, '02:00:00:00:00:05').routes, ...peer(6, '02:00:00:00:00:06').routes], neighs: [], fdb: [] };
    const r = await applyDiff(kernel, diffEntries(desired, emptyEntries()));
    expect(calls).toEqual(['addRoute', 'addRoute']);
    expect(r.changed).toBe(1);
    expect(r.errors).toEqual(['addRoute: EPERM from the kernel']);
  });
});

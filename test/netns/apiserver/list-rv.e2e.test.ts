import { Cluster, startControlPlane, withLogsOnFailure, type ControlPlane } from '@pilot/netns';
import { pod } from './helpers.js';
import { secureRaw } from './secure-raw.js';

/**
 * `resourceVersion` and `resourceVersionMatch` on lists, against the `pilot
 * apiserver` binary over TLS (issue 11: the match was ignored). Exact reads
 * at the revision asked (410 once compacted), NotOlderThan reads the current
 * state (also after compaction), a future revision waits and is 504, invalid
 * combinations are 422 Invalid on ListOptions, as kube-apiserver answers.
 */

const NS = 'rv';
let c: Cluster | undefined;
let cp: ControlPlane;
const list = (query: string) => secureRaw(cp, 'GET', `/api/v1/namespaces/${NS}/pods?${query}`);
const names = (body: { items: Array<{ metadata: { name: string } }> }) => body.items.map((i) => i.metadata.name).sort();

beforeAll(async () => {
  c = await Cluster.create({ hosts: 0, etcd: true });
  cp = await startControlPlane(c);
  await cp.client.create('namespaces', { metadata: { name: NS } });
});

afterAll(async () => {
  await cp?.close();
  await c?.teardown();
});

const t = (name: string, fn: () => Promise<void>) => it(name, withLogsOnFailure(() => c, fn));

describe('list resourceVersionMatch', () => {
  t('Exact lists what was there at that revision, NotOlderThan and no match what is there now; once compacted Exact is 410 and NotOlderThan still 200', async () => {
    const first = await cp.client.create('pods', pod('first'), { namespace: NS });
    const rv1 = first.metadata.resourceVersion!;
    await cp.client.create('pods', pod('second'), { namespace: NS });

    const exact = await list(`resourceVersion=${rv1}&resourceVersionMatch=Exact`);
    expect([exact.status, names(exact.body), exact.body.metadata.resourceVersion]).toEqual([200, ['first'], rv1]);
    for (const q of [`resourceVersion=${rv1}&resourceVersionMatch=NotOlderThan`, `resourceVersion=${rv1}`, 'resourceVersion=0', '']) {
      const now = await list(q);
      expect([q, now.status, names(now.body)]).toEqual([q, 200, ['first', 'second']]);
      expect(Number(now.body.metadata.resourceVersion)).toBeGreaterThan(Number(rv1));
    }
    // Exact with a limit pages at that revision.
    const page = await list(`resourceVersion=${rv1}&resourceVersionMatch=Exact&limit=1`);
    expect([page.status, names(page.body)]).toEqual([200, ['first']]);

    const third = await cp.client.create('pods', pod('third'), { namespace: NS });
    const compact = await c!.etcd!.etcdctl(['compact', third.metadata.resourceVersion!]);
    expect(compact.exitCode).toBe(0);
    const gone = await list(`resourceVersion=${rv1}&resourceVersionMatch=Exact`);
    expect([gone.status, gone.body.reason, gone.body.message]).toEqual([410, 'Expired', 'The resourceVersion for the provided list is too old.']);
    const current = await list(`resourceVersion=${rv1}&resourceVersionMatch=NotOlderThan`);
    expect([current.status, names(current.body)]).toEqual([200, ['first', 'second', 'third']]);
  });

  t('a revision in the future waits, then is 504 Too large resource version', async () => {
    const now = Number((await list('')).body.metadata.resourceVersion);
    const future = now + 1000;
    for (const match of ['NotOlderThan', 'Exact']) {
      const r = await list(`resourceVersion=${future}&resourceVersionMatch=${match}`);
      expect([match, r.status, r.body.reason, r.body.details?.retryAfterSeconds]).toEqual([match, 504, 'Timeout', 1]);
      expect(r.body.message).toMatch(new RegExp(`^Timeout: Too large resource version: ${future}, current: \\d+$`));
    }
  });

  t('resourceVersionMatch without resourceVersion, Exact with "0", or an unknown match is 422 Invalid on ListOptions', async () => {
    const cases: Array<[string, string]> = [
      ['resourceVersionMatch=NotOlderThan', 'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided'],
      ['resourceVersion=0&resourceVersionMatch=Exact', 'resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"'],
      ['resourceVersion=1&resourceVersionMatch=Newest', 'resourceVersionMatch: Unsupported value: "Newest": supported values: "Exact", "NotOlderThan", ""'],
    ];
    for (const [q, why] of cases) {
      const r = await list(q);
      expect([q, r.status, r.body.reason, r.body.details?.kind, r.body.message]).toEqual([q, 422, 'Invalid', 'ListOptions', `ListOptions.meta.k8s.io "" is invalid: ${why}`]);
    }
  });
});

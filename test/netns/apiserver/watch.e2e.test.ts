import { ApiError, Informer, type KubeObject, type Pod, type WatchEvent } from '@pilot/api';
import { createLogger, waitFor } from '@pilot/common';
import { Cluster, withLogsOnFailure } from '@pilot/netns';
import { pod, raw, startInProcess, type InProcess } from './helpers.js';

/** Watch semantics over a real etcd: resourceVersion, selectors, fan-out, compaction. */

let c: Cluster | undefined;
let api: InProcess;
/** A second apiserver on the same etcd with a tiny watch buffer, so old revisions need their own etcd watch. */
let small: InProcess;
/** A third one sending bookmarks every 200 ms (the default is a minute). */
let marks: InProcess;

beforeAll(async () => {
  c = await Cluster.create({ hosts: 0, etcd: true });
  api = await startInProcess(c);
  small = await startInProcess(c, { watchCacheSize: '5' });
  marks = await startInProcess(c, {}, { watchBookmarkIntervalMs: 200 });
  for (const ns of ['w', 'sel', 'fan', 'old', 'inf', 'noise', 'bm']) await api.client.create('namespaces', { metadata: { name: ns } });
});

afterAll(async () => {
  for (const s of [api, small, marks]) {
    s?.client.close();
    await s?.server.close();
  }
  await c?.teardown();
});

const t = (name: string, fn: () => Promise<void>) => it(name, withLogsOnFailure(() => c, fn));

/** Reads a watch until `n` events arrived (or the deadline), then stops it. */
async function collect(gen: AsyncGenerator<WatchEvent>, n: number, ac: AbortController, timeoutMs = 15_000): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    for await (const ev of gen) {
      out.push(ev);
      if (out.length >= n) break;
    }
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return out;
}

/** Reads a watch into `into` until it ends (server close or abort). */
async function pump(gen: AsyncGenerator<WatchEvent>, into: WatchEvent[]): Promise<void> {
  for await (const ev of gen) into.push(ev);
}

const watchers = async (s: InProcess) => Number(((await raw(s.url, 'GET', '/metrics')).body as string).match(/apiserver_registered_watchers\{resource="pods"\} (\d+)/)?.[1] ?? 0);

const brief = (evs: WatchEvent[]) => evs.map((e) => `${e.type} ${e.object.metadata.name}`);

describe('watch', () => {
  t('without a resourceVersion sends synthetic ADDED for current objects, then changes', async () => {
    await api.client.create('pods', pod('a'), { namespace: 'w' });
    await api.client.create('pods', pod('b'), { namespace: 'w' });
    const ac = new AbortController();
    const events = collect(api.client.watch('pods', { namespace: 'w', signal: ac.signal }), 4, ac);
    await waitFor(async () => (await raw(api.url, 'GET', '/metrics')).body.match(/apiserver_registered_watchers\{resource="pods"\} [1-9]/), { what: 'the watch to open' });
    await api.client.create('pods', pod('c'), { namespace: 'w' });
    await api.client.delete('pods', 'a', { namespace: 'w' });
    expect(brief(await events)).toEqual(['ADDED a', 'ADDED b', 'ADDED c', 'DELETED a']);

    // kubectl get pod X -w: fieldSelector on the name, resourceVersion=0.
    const one = new AbortController();
    const single = collect(api.client.watch('pods', { namespace: 'w', fieldSelector: 'metadata.name=b', resourceVersion: '0', signal: one.signal }), 1, one);
    expect(brief(await single)).toEqual(['ADDED b']);
  });

  t('with a Table Accept header (kubectl get -w) each event is a one-row Table, column headers only in the first', async () => {
    await api.client.create('pods', pod('tbl-1'), { namespace: 'w' });
    await api.client.create('pods', pod('tbl-2'), { namespace: 'w' });
    const accept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
    const r = await raw(api.url, 'GET', '/api/v1/namespaces/w/pods?watch=true&timeoutSeconds=1&fieldSelector=metadata.name%21%3Db', undefined, { accept });
    const events = (r.body as string).trim().split('\n').map((l) => JSON.parse(l));
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.every((e: { type: string; object: { kind: string; rows: unknown[] } }) => e.type === 'ADDED' && e.object.kind === 'Table' && e.object.rows.length === 1)).toBe(true);
    expect(events[0].object.columnDefinitions.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining(['Name', 'Ready', 'Status']));
    expect(events[1].object.columnDefinitions).toBeNull();
    const list = await raw(api.url, 'GET', '/api/v1/namespaces/w/pods', undefined, { accept });
    expect(list.body).toMatchObject({ kind: 'Table', metadata: { resourceVersion: expect.any(String) } });
  });

  t('from a resourceVersion delivers exactly the later events, in order', async () => {
    const first = await api.client.create('pods', pod('r1'), { namespace: 'w' });
    await api.client.create('pods', pod('r2'), { namespace: 'w' });
    const upd = await api.client.patch('pods', 'r1', { metadata: { labels: { x: '1' } } }, 'merge', { namespace: 'w' });
    const del = (await api.client.delete('pods', 'r2', { namespace: 'w' })) as KubeObject;
    const ac = new AbortController();
    const evs = await collect(api.client.watch('pods', { namespace: 'w', resourceVersion: first.metadata.resourceVersion!, signal: ac.signal }), 3, ac);
    expect(brief(evs)).toEqual(['ADDED r2', 'MODIFIED r1', 'DELETED r2']);
    expect(evs[1]!.object.metadata.resourceVersion).toBe(upd.metadata.resourceVersion);
    expect(evs[2]!.object.metadata.resourceVersion).toBe(del.metadata.resourceVersion);
  });

  t('selector watches turn objects that start or stop matching into ADDED / DELETED', async () => {
    const base = await api.client.create('pods', pod('m', { tier: 'be' }), { namespace: 'sel' });
    const rv = base.metadata.resourceVersion!;
    const acL = new AbortController();
    const byLabel = collect(api.client.watch('pods', { namespace: 'sel', labelSelector: 'tier=fe', resourceVersion: rv, signal: acL.signal }), 3, acL);
    const acF = new AbortController();
    const byNode = collect(api.client.watch('pods', { fieldSelector: 'spec.nodeName=node-1', resourceVersion: rv, signal: acF.signal }), 2, acF);
    await api.client.patch('pods', 'm', { metadata: { labels: { tier: 'fe' } } }, 'merge', { namespace: 'sel' });
    await api.client.patch('pods', 'm', { metadata: { labels: { tier: 'fe', v: '2' } } }, 'merge', { namespace: 'sel' });
    await api.client.patch('pods', 'm', { metadata: { labels: { tier: 'be' } } }, 'merge', { namespace: 'sel' });
    expect(brief(await byLabel)).toEqual(['ADDED m', 'MODIFIED m', 'DELETED m']);
    await api.client.bind('sel', 'm', 'node-1');
    await api.client.delete('pods', 'm', { namespace: 'sel' });
    expect(brief(await byNode)).toEqual(['ADDED m', 'DELETED m']);
  });

  t('100 concurrent watchers see every event in order over one etcd watch', async () => {
    const start = await api.client.create('pods', pod('f-0'), { namespace: 'fan' });
    // The apiserver's own caches (the RBAC policy) hold etcd watches too, and an earlier
    // test may have opened the pods one already: 100 more watchers add at most that one.
    const etcdWatches = async () => Number(((await raw(api.url, 'GET', '/metrics')).body as string).match(/^apiserver_etcd_watches (\d+)$/m)?.[1]);
    const before = await etcdWatches();
    const expected: string[] = [];
    const acs = Array.from({ length: 100 }, () => new AbortController());
    const N = 30;
    const watchers = acs.map((ac) => collect(api.client.watch('pods', { namespace: 'fan', resourceVersion: start.metadata.resourceVersion!, signal: ac.signal }), N, ac, 60_000));
    await waitFor(async () => ((await raw(api.url, 'GET', '/metrics')).body as string).match(/apiserver_registered_watchers\{resource="pods"\} (\d+)/)?.[1] === '100', {
      what: '100 watchers to be registered',
      timeoutMs: 20_000,
    });
    for (let i = 1; i <= 10; i++) {
      const p = await api.client.create('pods', pod(`f-${i}`), { namespace: 'fan' });
      expected.push(`ADDED f-${i} ${p.metadata.resourceVersion}`);
      const m = await api.client.patch('pods', `f-${i}`, { metadata: { labels: { n: String(i) } } }, 'merge', { namespace: 'fan' });
      expected.push(`MODIFIED f-${i} ${m.metadata.resourceVersion}`);
      const d = (await api.client.delete('pods', `f-${i}`, { namespace: 'fan' })) as KubeObject;
      expected.push(`DELETED f-${i} ${d.metadata.resourceVersion}`);
    }
    const seen = await Promise.all(watchers);
    for (const evs of seen) expect(evs.map((e) => `${e.type} ${e.object.metadata.name} ${e.object.metadata.resourceVersion}`)).toEqual(expected);
    // One etcd watch per watched resource prefix, however many HTTP watchers.
    expect(await etcdWatches()).toBeLessThanOrEqual(before + 1);
  });

  t('a start revision older than the buffer gets its own etcd watch; a compacted one gets 410 Expired', async () => {
    const first = await small.client.create('pods', pod('o-0'), { namespace: 'old' });
    for (let i = 1; i <= 12; i++) await small.client.create('pods', pod(`o-${i}`), { namespace: 'old' });
    // Prime the small server's cache, then move it past `first`.
    const prime = new AbortController();
    const primed = collect(small.client.watch('pods', { namespace: 'noise', signal: prime.signal }), 1, prime);
    await waitFor(async () => ((await raw(small.url, 'GET', '/metrics')).body as string).match(/apiserver_registered_watchers\{resource="pods"\} 1/), { what: 'priming watch' });
    for (let i = 0; i < 8; i++) await small.client.create('pods', pod(`n-${i}`), { namespace: 'noise' });
    await primed;
    const ac = new AbortController();
    const evs = await collect(small.client.watch('pods', { namespace: 'old', resourceVersion: first.metadata.resourceVersion!, signal: ac.signal }), 12, ac);
    expect(brief(evs)).toEqual(Array.from({ length: 12 }, (_, i) => `ADDED o-${i + 1}`));

    const rev = Number((await api.client.list('pods', { namespace: 'old' })).metadata.resourceVersion);
    const page = await api.client.list('pods', { namespace: 'old', limit: 2 });
    expect(page.metadata.continue).toBeDefined();
    await api.client.create('pods', pod('after-compact'), { namespace: 'old' });
    const compact = await c!.etcd!.etcdctl(['compact', String(rev + 1)]);
    expect(compact.exitCode).toBe(0);
    // The small server's buffer no longer reaches back to `first` and etcd has
    // compacted it. (The big server still serves it from its buffer, as kube-apiserver's cache does.)
    {
      const w = new AbortController();
      const err = await collect(small.client.watch('pods', { namespace: 'old', resourceVersion: first.metadata.resourceVersion!, signal: w.signal }), 1, w).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ApiError);
      expect(err).toMatchObject({ code: 410, reason: 'Expired' });
      // kube-apiserver's text, which informers log: the asked revision, then the oldest one served.
      expect((err as ApiError).message).toMatch(new RegExp(`too old resource version: ${first.metadata.resourceVersion} \\(\\d+\\)`));
    }
    const rawWatch = await raw(small.url, 'GET', `/api/v1/namespaces/old/pods?watch=true&resourceVersion=${first.metadata.resourceVersion}`);
    expect(rawWatch.status).toBe(200);
    expect(rawWatch.body).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    expect((rawWatch.body as { object: { message: string } }).object.message).toMatch(/^too old resource version: \d+ \(\d+\)$/);
    const staleList = await raw(api.url, 'GET', `/api/v1/namespaces/old/pods?limit=2&continue=${encodeURIComponent(page.metadata.continue!)}`);
    expect(staleList).toMatchObject({ status: 410, body: { reason: 'Expired' } });
  });

  t('the informer relists after 410 and converges on the server list', async () => {
    const listCount = async () => Number(((await raw(small.url, 'GET', '/metrics')).body as string).match(/apiserver_request_total\{verb="LIST",dry_run="",group="",version="v1",resource="pods",subresource="",scope="namespace",component="apiserver",code="200"\} (\d+)/)?.[1] ?? 0);
    for (let i = 0; i < 3; i++) await small.client.create('pods', pod(`i-${i}`), { namespace: 'inf' });
    const inf = new Informer<Pod>(small.client, 'pods', { namespace: 'inf', watchTimeoutSeconds: [1, 1], logger: createLogger('informer', { level: 'silent' }) });
    const ac = new AbortController();
    const running = inf.start(ac.signal);
    try {
      await inf.waitForSync(ac.signal);
      expect(inf.indexer.list().map((p) => p.metadata.name).sort()).toEqual(['i-0', 'i-1', 'i-2']);
      const lists = await listCount();
      // History moves on elsewhere and is compacted: the informer's next watch starts from a compacted revision.
      for (let i = 0; i < 8; i++) await small.client.create('pods', pod(`x-${i}`), { namespace: 'noise' });
      const now = Number((await api.client.list('pods', { namespace: 'noise' })).metadata.resourceVersion);
      await c!.etcd!.etcdctl(['compact', String(now)]);
      await waitFor(async () => (await listCount()) > lists, { what: 'the informer to relist after 410', timeoutMs: 20_000 });
      await small.client.delete('pods', 'i-0', { namespace: 'inf' });
      await small.client.create('pods', pod('i-3'), { namespace: 'inf' });
      await waitFor(
        async () => {
          const server = (await small.client.list('pods', { namespace: 'inf' })).items.map((p) => `${p.metadata.name}@${p.metadata.resourceVersion}`).sort();
          const local = inf.indexer.list().map((p) => `${p.metadata.name}@${p.metadata.resourceVersion}`).sort();
          return JSON.stringify(server) === JSON.stringify(local) && local.length === 3;
        },
        { what: 'the informer cache to equal the server list', timeoutMs: 20_000 },
      );
    } finally {
      ac.abort();
      await running;
    }
  });

  t('allowWatchBookmarks brings BOOKMARKs of only kind, apiVersion and a resourceVersion covering every event sent; without it none come', async () => {
    const base = await marks.client.create('pods', pod('bm-0'), { namespace: 'bm' });
    const ac = new AbortController();
    const withMarks: WatchEvent[] = [];
    const without: WatchEvent[] = [];
    const rv = base.metadata.resourceVersion!;
    const running = [
      pump(marks.client.watch('pods', { namespace: 'bm', resourceVersion: rv, allowWatchBookmarks: true, signal: ac.signal }), withMarks),
      pump(marks.client.watch('pods', { namespace: 'bm', resourceVersion: rv, signal: ac.signal }), without),
    ];
    try {
      await waitFor(async () => (await watchers(marks)) === 2, { what: 'both watches to register' });
      await marks.client.create('pods', pod('bm-1'), { namespace: 'bm' });
      const last = await marks.client.patch('pods', 'bm-1', { metadata: { labels: { v: '2' } } }, 'merge', { namespace: 'bm' });
      // Several bookmarks after the last change, while the other watch stays open as long.
      await waitFor(() => withMarks.slice(withMarks.findIndex((e) => e.type === 'MODIFIED') + 1).filter((e) => e.type === 'BOOKMARK').length >= 3 && withMarks.some((e) => e.type === 'MODIFIED'), {
        what: 'three bookmarks after the last event',
        timeoutMs: 15_000,
      });
      expect(without.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED bm-1', 'MODIFIED bm-1']);
      const marksSeen = withMarks.filter((e) => e.type === 'BOOKMARK');
      for (const m of marksSeen) expect(m.object).toEqual({ kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: expect.stringMatching(/^\d+$/) } });
      // Each bookmark's resourceVersion is at least that of every event before it.
      let seen = 0;
      for (const e of withMarks) {
        const v = Number(e.object.metadata.resourceVersion);
        if (e.type === 'BOOKMARK') expect(v).toBeGreaterThanOrEqual(seen);
        seen = Math.max(seen, v);
      }
      expect(Number(marksSeen[marksSeen.length - 1]!.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(last.metadata.resourceVersion));
      expect(withMarks.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED bm-1', 'MODIFIED bm-1']);
    } finally {
      ac.abort();
      await Promise.all(running);
    }
    expect(without.some((e) => e.type === 'BOOKMARK')).toBe(false);
  });

  t('a bookmarked watch with a timeout gets one BOOKMARK 2 s before it ends, as kube-apiserver sends', async () => {
    // The default interval (a minute) is far beyond the 3 s timeout: only the pre-deadline bookmark comes.
    const p = await api.client.create('pods', pod('deadline'), { namespace: 'bm' });
    const evs: WatchEvent[] = [];
    await pump(api.client.watch('pods', { namespace: 'bm', resourceVersion: p.metadata.resourceVersion!, allowWatchBookmarks: true, timeoutSeconds: 3 }), evs);
    expect(evs.map((e) => e.type)).toEqual(['BOOKMARK']);
    expect(Number(evs[0]!.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(p.metadata.resourceVersion));
  });
});

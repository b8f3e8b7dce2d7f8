import type { Etcd3, IRangeRequest } from 'etcd3';
import { decode, encode } from '../../src/apiserver/storage/codec.js';
import { EtcdStorage, prefixEnd } from '../../src/apiserver/storage/etcd.js';
import { SUBCOMMANDS } from '../../src/cli/subcommands.js';

describe('storage encoding', () => {
  it('never stores resourceVersion and reads it back from the mod revision', () => {
    const text = encode({ metadata: { name: 'p', resourceVersion: '12' }, spec: { x: 1 } });
    expect(JSON.parse(text)).toEqual({ metadata: { name: 'p' }, spec: { x: 1 } });
    const kv = { key: Buffer.from('/registry/pods/d/p'), value: Buffer.from(text), rv: 42 };
    expect(decode(kv)).toEqual({ key: '/registry/pods/d/p', rv: 42, obj: { metadata: { name: 'p', resourceVersion: '42' }, spec: { x: 1 } } });
  });

  it('ends a prefix range just past the prefix', () => {
    expect(prefixEnd('/registry/pods/').toString()).toBe('/registry/pods0');
    expect(prefixEnd('/registry/pods/default/').toString()).toBe('/registry/pods/default0');
  });
});

describe('storage lists', () => {
  /** A fake etcd range over 25 keys that refuses responses of more than `max` keys, as gRPC refuses an oversized message. */
  function fakeEtcd(max: number) {
    const keys = Array.from({ length: 25 }, (_, i) => `/registry/pods/d/p-${String(i).padStart(2, '0')}`);
    const calls: { from: string; limit: number; revision: number }[] = [];
    const client = {
      kv: {
        range: async (req: IRangeRequest) => {
          const from = (req.key as Buffer).toString();
          const limit = Number(req.limit);
          calls.push({ from, limit, revision: Number(req.revision) });
          if (limit > max) throw new Error('8 RESOURCE_EXHAUSTED: Received message larger than max (7357570 vs 4194304)');
          const rest = keys.filter((k) => k >= from && k < (req.range_end as Buffer).toString());
          const kvs = rest.slice(0, limit).map((k) => ({ key: Buffer.from(k), value: Buffer.from(encode({ metadata: { name: k } })), mod_revision: '7' }));
          return { header: { revision: '99' }, kvs, more: rest.length > limit };
        },
      },
    } as unknown as Etcd3;
    return { storage: new EtcdStorage({ servers: [], prefix: '/registry', client }), calls, keys };
  }

  it('reads a whole collection at one revision, halving chunks that are too big for one message', async () => {
    const { storage, calls, keys } = fakeEtcd(4);
    const page = await storage.list('/registry/pods/d/');
    expect(page.items.map((s) => s.key)).toEqual(keys);
    expect(page.revision).toBe(99);
    // After the first read every chunk is read at that read's revision.
    expect(calls.filter((c) => c.limit <= 4).slice(1).every((c) => c.revision === 99)).toBe(true);
  });

  it('gives up on a single object too big for a message', async () => {
    const { storage } = fakeEtcd(0);
    await expect(storage.list('/registry/pods/d/')).rejects.toThrow(/RESOURCE_EXHAUSTED/);
  });
});

describe('pilot dispatcher', () => {
  it('has the apiserver subcommand, loaded lazily with a run(argv) entry point', async () => {
    const sub = SUBCOMMANDS.apiserver!;
    expect(sub.summary).toMatch(/API server/);
    const mod = await sub.load();
    expect(typeof mod.run).toBe('function');
  });
});

describe('in-memory storage (etcd semantics for unit tests)', () => {
  const put = (key: string, value: unknown) => ({ put: key, value: JSON.stringify(value) });

  it('gives each transaction one revision, guards with Mod/Version compares, and reads at old revisions until compacted', async () => {
    const { MemoryStorage } = await import('../../src/apiserver/storage/memory.js');
    const { CompactedError, FutureRevisionError } = await import('../../src/apiserver/storage/errors.js');
    const s = new MemoryStorage('/registry');
    const r0 = await s.revision();
    const created = await s.txn([{ key: '/registry/pods/d/a', target: 'Version', value: 0 }], [put('/registry/pods/d/a', { metadata: { name: 'a' } }), put('/registry/pods/d/b', { metadata: { name: 'b' } })]);
    expect(created).toEqual({ ok: true, revision: r0 + 1 });
    const dup = await s.txn([{ key: '/registry/pods/d/a', target: 'Version', value: 0 }], [put('/registry/pods/d/a', {})]);
    expect(dup.ok).toBe(false);
    expect(!dup.ok && dup.current.get('/registry/pods/d/a')?.rv).toBe(r0 + 1);
    const stale = await s.txn([{ key: '/registry/pods/d/a', target: 'Mod', value: r0 }], [{ del: '/registry/pods/d/a' }]);
    expect(stale.ok).toBe(false);
    expect((await s.txn([{ key: '/registry/pods/d/a', target: 'Mod', value: r0 + 1 }], [{ del: '/registry/pods/d/a' }])).ok).toBe(true);
    expect((await s.list('/registry/pods/d/')).items.map((i) => i.obj.metadata.name)).toEqual(['b']);
    expect((await s.list('/registry/pods/d/', { revision: r0 + 1 })).items.map((i) => i.obj.metadata.name)).toEqual(['a', 'b']);
    expect((await s.list('/registry/pods/d/', { limit: 1, revision: r0 + 1 })).nextKey).toBe('/registry/pods/d/a\x00');
    await expect(s.list('/registry/pods/d/', { revision: 99 })).rejects.toBeInstanceOf(FutureRevisionError);
    await s.compact(r0 + 2);
    await expect(s.list('/registry/pods/d/', { revision: r0 + 1 })).rejects.toBeInstanceOf(CompactedError);
    await expect(s.compact(r0 + 2)).rejects.toBeInstanceOf(CompactedError);
    expect((await s.list('/registry/pods/d/', { revision: r0 + 2 })).items).toHaveLength(1);
  });

  it('replays a watch from any revision still in history, with previous values, then goes live', async () => {
    const { MemoryStorage } = await import('../../src/apiserver/storage/memory.js');
    const { CompactedError } = await import('../../src/apiserver/storage/errors.js');
    const s = new MemoryStorage('/registry');
    const r0 = await s.revision();
    await s.txn([], [put('/registry/pods/d/a', { metadata: { name: 'a', labels: { v: '1' } } })]);
    await s.txn([], [put('/registry/pods/d/a', { metadata: { name: 'a', labels: { v: '2' } } })]);
    await s.txn([], [put('/registry/services/d/x', { metadata: { name: 'x' } })]);
    const seen: string[] = [];
    const w = await s.watch('/registry/pods/', r0, {
      onEvents: (evs) => evs.forEach((e) => seen.push(`${e.type}@${e.rv} v=${e.obj.metadata.labels?.v ?? '-'} prev=${e.prev?.metadata.labels?.v ?? '-'}`)),
      onError: (err) => seen.push(`error ${err.message}`),
    });
    await s.txn([], [{ del: '/registry/pods/d/a' }]);
    for (let i = 0; i < 10 && seen.length < 3; i++) await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([`ADDED@${r0 + 1} v=1 prev=-`, `MODIFIED@${r0 + 2} v=2 prev=1`, `DELETED@${r0 + 4} v=2 prev=2`]);
    w.cancel();
    await s.compact(r0 + 3);
    await expect(s.watch('/registry/pods/', r0, { onEvents: () => undefined, onError: () => undefined })).rejects.toBeInstanceOf(CompactedError);
    // The compaction revision itself is still there to start from.
    await expect(s.watch('/registry/pods/', r0 + 2, { onEvents: () => undefined, onError: () => undefined })).resolves.toBeDefined();
  });
});

import type { Etcd3, IKeyValue, IRangeRequest } from 'etcd3';
import { decode, encode, prefixEnd, Storage } from '../../src/apiserver/storage.js';
import { SUBCOMMANDS } from '../../src/cli/subcommands.js';

describe('storage encoding', () => {
  it('never stores resourceVersion and reads it back from the mod revision', () => {
    const text = encode({ metadata: { name: 'p', resourceVersion: '12' }, spec: { x: 1 } });
    expect(JSON.parse(text)).toEqual({ metadata: { name: 'p' }, spec: { x: 1 } });
    const kv = { key: Buffer.from('/registry/pods/d/p'), value: Buffer.from(text), mod_revision: '42', create_revision: '40', version: '2', lease: '0' } as IKeyValue;
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
    return { storage: new Storage(client, '/registry'), calls, keys };
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

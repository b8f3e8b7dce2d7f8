import type { IKeyValue } from 'etcd3';
import { decode, encode, prefixEnd } from '../../src/apiserver/storage.js';
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

describe('pilot dispatcher', () => {
  it('has the apiserver subcommand, loaded lazily with a run(argv) entry point', async () => {
    const sub = SUBCOMMANDS.apiserver!;
    expect(sub.summary).toMatch(/API server/);
    const mod = await sub.load();
    expect(typeof mod.run).toBe('function');
  });
});

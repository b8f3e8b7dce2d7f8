import type { PodTemplateSpec } from '@pilot/api';
import type { ControllerRevision } from '@pilot/api';
import {
  canonicalJson,
  chooseRevision,
  computeHash,
  controllerRevisionName,
  fnv32,
  fnv32a,
  hashControllerRevision,
  newControllerRevision,
  revisionMatches,
  revisionsToPrune,
  revisionTemplate,
  safeEncodeString,
  templatePatch,
} from '../../src/controller/history/history.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
const tpl = (image: string): PodTemplateSpec => ({ metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image }] } });
const rev = (name: string, revision: number, image: string): ControllerRevision => ({ metadata: { name, creationTimestamp: `2026-12-03T12:00:0${revision}Z` }, data: templatePatch(tpl(image)), revision });

describe('controller revision history', () => {
  it('hashes with FNV-1 and FNV-1a as Go hash/fnv does', () => {
    // Published test vectors: "" is the offset basis; "a" is 0x050c5d7e (FNV-1) and 0xe40c292c (FNV-1a).
    expect(fnv32(utf8(''))).toBe(0x811c9dc5);
    expect(fnv32(utf8('a'))).toBe(0x050c5d7e);
    expect(fnv32a(utf8('a'))).toBe(0xe40c292c);
    expect(fnv32a(utf8('foobar'))).toBe(0xbf9cf968);
  });

  it('encodes digits with the safe alphabet, one letter per byte', () => {
    expect(safeEncodeString('0123456789')).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{10}$/);
    expect(safeEncodeString('12')).toBe(safeEncodeString('1') + safeEncodeString('2'));
  });

  it('gives a template the same hash whatever its key order, another for another template or collision count', () => {
    const a = computeHash({ spec: { containers: [{ name: 'c', image: 'x' }] }, metadata: { labels: { b: '1', a: '2' } } });
    const b = computeHash({ metadata: { labels: { a: '2', b: '1' } }, spec: { containers: [{ image: 'x', name: 'c' }] } });
    expect(a).toBe(b);
    expect(computeHash(tpl('y'))).not.toBe(computeHash(tpl('x')));
    expect(computeHash(tpl('x'), 1)).not.toBe(computeHash(tpl('x')));
    expect(hashControllerRevision(templatePatch(tpl('x')), 1)).not.toBe(hashControllerRevision(templatePatch(tpl('x'))));
    expect(canonicalJson({ b: 1, a: undefined, c: [{ z: 1, y: 2 }] })).toBe('{"b":1,"c":[{"y":2,"z":1}]}');
  });

  it('stores the template as a replacing patch and reads it back', () => {
    const r = newControllerRevision({ metadata: { name: 'web', namespace: 'ns' } }, { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'u', controller: true }, tpl('x'), controllerRevisionName('web', 'abc'), 'abc', 3);
    expect(r.metadata).toMatchObject({ name: 'web-abc', namespace: 'ns', labels: { app: 'web', 'controller-revision-hash': 'abc' } });
    expect(r.data).toEqual({ spec: { template: { ...tpl('x'), $patch: 'replace' } } });
    expect(r.revision).toBe(3);
    expect(revisionTemplate(r)).toEqual(tpl('x'));
    expect(revisionMatches(r, tpl('x'))).toBe(true);
    expect(revisionMatches(r, tpl('y'))).toBe(false);
    expect(controllerRevisionName('x'.repeat(300), 'h')).toHaveLength(225);
  });

  it('numbers a new template one past the newest, and renumbers an older one returned to (a rollback)', () => {
    const revs = [rev('w-a', 1, 'a'), rev('w-b', 2, 'b')];
    expect(chooseRevision(revs, tpl('c'))).toEqual({ match: undefined, duplicates: [], revision: 3 });
    expect(chooseRevision(revs, tpl('b'))).toMatchObject({ match: revs[1], revision: 2 });
    expect(chooseRevision(revs, tpl('a'))).toMatchObject({ match: revs[0], revision: 3 });
    const dup = [rev('w-a', 1, 'a'), rev('w-a2', 4, 'a'), rev('w-b', 2, 'b')];
    expect(chooseRevision(dup, tpl('a'))).toMatchObject({ match: dup[1], duplicates: [dup[0]], revision: 3 });
  });

  it('prunes the oldest revisions no pod runs beyond the limit', () => {
    const revs = [rev('w-1', 1, 'a'), rev('w-2', 2, 'b'), rev('w-3', 3, 'c'), rev('w-4', 4, 'd')];
    expect(revisionsToPrune(revs, new Set(['w-4', 'w-1']), 1).map((r) => r.metadata.name)).toEqual(['w-2']);
    expect(revisionsToPrune(revs, new Set(['w-4']), 0).map((r) => r.metadata.name)).toEqual(['w-1', 'w-2', 'w-3']);
    expect(revisionsToPrune(revs, new Set(), 10)).toEqual([]);
  });
});

import { encodeList, splicePoint, type RawItem } from '../../src/apiserver/http/list-encoding.js';
import { decode, encode } from '../../src/apiserver/storage/codec.js';

/** What the list path did before: parse each stored object, add its resourceVersion, kind and apiVersion, stringify the list. */
function slowItem(item: RawItem): string {
  const obj = decode({ key: Buffer.from('/k'), value: item.value, rv: item.rv }).obj;
  obj.apiVersion = 'v1';
  obj.kind = 'Pod';
  return JSON.stringify(obj);
}
function slowList(items: RawItem[], metadata: Record<string, string>): string {
  return `{"apiVersion":"v1","kind":"PodList","metadata":${JSON.stringify(metadata)},"items":[${items.map(slowItem).join(',')}]}`;
}
const fast = (items: RawItem[], metadata: Record<string, string>) =>
  encodeList({ apiVersion: 'v1', kind: 'PodList', metadata }, { apiVersion: 'v1', kind: 'Pod' }, items, slowItem).toString();

const pod = (extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'd', labels: { app: 'x', 'a.b/c': 'y' }, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"a":"b\\"c"}\n' } },
  spec: { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'], ports: [{ containerPort: 80 }] }], terminationGracePeriodSeconds: 30, hostNetwork: false, x: null },
  status: { phase: 'Pending', conditions: [] },
  ...extra,
});

describe('list encoding from the stored bytes', () => {
  it('gives the same bytes as parse → set resourceVersion → stringify for what the apiserver stores', () => {
    const objs = [
      pod(),
      pod({ metadata: {} }),
      { kind: 'Pod', metadata: { name: 'q', uid: 'ü–✓ 😀' }, apiVersion: 'v1', spec: { n: -12, z: 0, big: 123456789012345, nested: [[{}], [], [true, false, null]] } },
      pod({ metadata: { name: 'tab\tquote"back\\slash' } }),
    ];
    const items = objs.map((o, i) => ({ value: Buffer.from(encode(o as never)), rv: 100 + i }));
    for (const it of items) expect(splicePoint(it.value, 'v1', 'Pod')).toBeDefined();
    expect(fast(items, { resourceVersion: '200' })).toBe(slowList(items, { resourceVersion: '200' }));
    expect(fast(items, { resourceVersion: '200', continue: 'abc' })).toBe(slowList(items, { resourceVersion: '200', continue: 'abc' }));
    expect(fast([], { resourceVersion: '7' })).toBe('{"apiVersion":"v1","kind":"PodList","metadata":{"resourceVersion":"7"},"items":[]}');
    expect(JSON.parse(fast(items, { resourceVersion: '200' })).items[1].metadata).toEqual({ resourceVersion: '101' });
  });

  it('agrees with the slow path on random objects', () => {
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const chars = ['a', 'Z', '0', '"', '\\', '/', '\n', '\u0001', '\u001f', 'é', '✓', '😀', ' ', ':', ',', '{', '}', '\u2028'];
    const str = () => Array.from({ length: rnd(6) }, () => chars[rnd(chars.length)]).join('');
    const val = (depth: number): unknown => {
      switch (rnd(depth > 3 ? 5 : 7)) {
        case 0: return str();
        case 1: return rnd(2) ? rnd(1_000_000) - 500_000 : rnd(10) / 4;
        case 2: return [true, false, null][rnd(3)];
        case 3: return `k${str()}`;
        case 4: return rnd(3) - 1;
        case 5: return Array.from({ length: rnd(4) }, () => val(depth + 1));
        default: return Object.fromEntries(Array.from({ length: rnd(4) }, () => [rnd(5) ? `k${str()}` : str(), val(depth + 1)]));
      }
    };
    const items = Array.from({ length: 300 }, (_, i) => {
      const meta = Object.fromEntries(Array.from({ length: rnd(4) }, () => [`m${str()}`, val(2)]));
      const o = rnd(10) ? { apiVersion: 'v1', kind: 'Pod', metadata: meta, spec: val(1) } : { metadata: meta, kind: 'Pod', extra: val(1), apiVersion: 'v1' };
      return { value: Buffer.from(encode(o as never)), rv: i + 1 };
    });
    expect(fast(items, { resourceVersion: '999' })).toBe(slowList(items, { resourceVersion: '999' }));
    // Most of them took the fast path (only non-integers and numeric keys do not).
    expect(items.filter((it) => splicePoint(it.value, 'v1', 'Pod')).length).toBeGreaterThan(150);
  });

  it('falls back to parse → stringify for bytes not in JSON.stringify form, with the same result', () => {
    const odd = [
      '{"apiVersion":"v1","kind":"Pod", "metadata":{"name":"ws"}}',
      '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"\\u0041"}}',
      '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a\\/b"}}',
      '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"f"},"spec":{"x":1.50}}',
      '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"e"},"spec":{"x":1e3}}',
      '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"z"},"spec":{"x":-0}}',
      '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"big"},"spec":{"x":12345678901234567}}',
      '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"n","labels":{"b":"1","2":"3"}}}',
      '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"rv","resourceVersion":"5"}}',
      '{"kind":"Pod","metadata":{"name":"noapi"}}',
      '{"apiVersion":"v1","kind":"Node","metadata":{"name":"wrongkind"}}',
      '{"apiVersion":"v1","kind":"Pod","spec":{}}',
      '{"apiVersion":"v1","kind":"Pod","metadata":null}',
      '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"metadata":{"name":"twice"}}',
    ];
    const items = odd.map((text, i) => ({ value: Buffer.from(text), rv: 10 + i }));
    for (const it of items) expect(splicePoint(it.value, 'v1', 'Pod')).toBeUndefined();
    expect(fast(items, { resourceVersion: '50' })).toBe(slowList(items, { resourceVersion: '50' }));
    // Invalid UTF-8 comes out of the parse as U+FFFD.
    const bad = [{ value: Buffer.concat([Buffer.from('{"apiVersion":"v1","kind":"Pod","metadata":{"name":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}')]), rv: 3 }];
    expect(splicePoint(bad[0]!.value, 'v1', 'Pod')).toBeUndefined();
    expect(fast(bad, { resourceVersion: '3' })).toBe(slowList(bad, { resourceVersion: '3' }));
  });

  it('leaves bytes that are not JSON to the slow path, which refuses them as before', () => {
    for (const text of ['{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}', 'not json', '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}}', '[]'])
      expect(splicePoint(Buffer.from(text), 'v1', 'Pod')).toBeUndefined();
    expect(() => fast([{ value: Buffer.from('not json'), rv: 1 }], { resourceVersion: '1' })).toThrow(SyntaxError);
  });
});

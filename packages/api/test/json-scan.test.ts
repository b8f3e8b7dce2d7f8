import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, dropUnknownFields, jsonDepth, MAX_JSON_DEPTH, MAX_MERGE_DEPTH, PatchError, previewJson, scanJson, tooDeepMessage, validateFields } from '../src/index.js';
import { cloneJson, jsonEqual, mergeJson } from '../src/patch/json-value.js';

const objects = (d: number, leaf = '1') => '{"a":'.repeat(d) + leaf + '}'.repeat(d);
const arrays = (d: number) => '['.repeat(d) + ']'.repeat(d);
const pod = (extra: string) => `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"b"}]${extra}}}`;

describe('scanJson: depth as kube-apiserver counts it', () => {
  it('passes 10,000 levels and stops at the bracket that makes 10,001, for objects and arrays', () => {
    expect(scanJson(objects(MAX_JSON_DEPTH)).tooDeep).toBeUndefined();
    expect(scanJson(arrays(MAX_JSON_DEPTH)).tooDeep).toBeUndefined();
    expect(scanJson(objects(MAX_JSON_DEPTH + 1)).tooDeep).toBe('{');
    expect(scanJson(arrays(MAX_JSON_DEPTH + 1)).tooDeep).toBe('[');
    // Unbalanced input is refused on depth too, as Go's scanner does before it sees the end.
    expect(scanJson('['.repeat(100_000)).tooDeep).toBe('[');
    expect(tooDeepMessage('[')).toBe("invalid character '[' exceeded max depth");
  });

  it('brackets inside strings, escaped quotes included, are not structure', () => {
    expect(scanJson(`{"a":"${'['.repeat(20)}\\"${'{'.repeat(20)}"}`, { maxDepth: 1 }).tooDeep).toBeUndefined();
    expect(scanJson('{"a\\\\":{"b":1}}', { maxDepth: 1 }).tooDeep).toBe('{');
  });
});

describe('scanJson: repeated keys', () => {
  it('names each repeated key by its field path, once, in document order', () => {
    const text = '{"metadata":{"name":"a","name":"b","labels":{"x":"1","x":"2"}},"spec":{"containers":[{"name":"c"},{"name":"d","image":"i","image":"j"}]},"kind":"Pod","kind":"Pod"}';
    expect(scanJson(text, { duplicates: true }).duplicates).toEqual(['metadata.name', 'metadata.labels.x', 'spec.containers[1].image', 'kind']);
  });

  it('compares keys as decoded, and does not look unless asked', () => {
    expect(scanJson('{"a":1,"\\u0061":2}', { duplicates: true }).duplicates).toEqual(['a']);
    expect(scanJson('{"a":1,"a":2}').duplicates).toEqual([]);
    expect(scanJson('{"a":{"b":1},"c":{"b":2},"d":[{"b":1},{"b":2}]}', { duplicates: true }).duplicates).toEqual([]);
  });

  it('validateFields reports them before unknown fields: 400 under Strict, warnings under Warn', () => {
    const obj = JSON.parse(pod(',"foo":1'));
    const strict = validateFields('pods', obj, 'Strict', ['metadata.name']);
    expect(strict.error?.message).toBe('Pod in version "v1" cannot be handled as a Pod: strict decoding error: duplicate field "metadata.name", unknown field "spec.foo"');
    expect(validateFields('pods', obj, 'Warn', ['metadata.name']).warnings).toEqual(['duplicate field "metadata.name"', 'unknown field "spec.foo"']);
  });
});

describe('walks over 10,000-level data never recurse', () => {
  const deepObj = JSON.parse(objects(MAX_JSON_DEPTH));
  const deepArr = JSON.parse(arrays(MAX_JSON_DEPTH));

  it('jsonDepth, cloneJson, jsonEqual and mergeJson', () => {
    expect(jsonDepth(deepObj)).toBe(MAX_JSON_DEPTH);
    expect(jsonDepth(deepArr, 10)).toBe(11);
    expect(jsonDepth(cloneJson(deepArr))).toBe(MAX_JSON_DEPTH);
    expect(jsonEqual(cloneJson(deepObj), deepObj)).toBe(true);
    expect(jsonEqual(deepObj, JSON.parse(objects(MAX_JSON_DEPTH, '2')))).toBe(false);
    expect(jsonDepth(mergeJson({}, deepObj))).toBe(MAX_JSON_DEPTH);
    expect(previewJson(deepObj)).toBe('<a value nested more than 64 levels>');
  });

  it('a merge key `__proto__` stays data', () => {
    const out = mergeJson({}, JSON.parse('{"__proto__":{"polluted":true}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__']);
  });

  it('`__proto__` in a patch of any type stays data and never reaches Object.prototype', () => {
    const cur = JSON.parse(pod(''));
    const evil = JSON.parse('{"metadata":{"__proto__":{"polluted":"yes"}},"__proto__":{"polluted":"yes"}}');
    applyStrategicMergePatch(cur, evil, 'Pod', 'v1');
    applyMergePatch(cur, evil);
    applyJsonPatch(cur, [{ op: 'add', path: '/metadata/__proto__', value: { polluted: 'yes' } }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('dropUnknownFields drops a 10,000-level unknown field', () => {
    const obj = JSON.parse(pod(`,"x":${objects(MAX_JSON_DEPTH - 3)}`));
    expect(dropUnknownFields('pods', obj)).toEqual(JSON.parse(pod('')));
  });

  it('the three patch types take a 10,000-level unknown field', () => {
    const cur = JSON.parse(pod(''));
    const value = JSON.parse(arrays(MAX_JSON_DEPTH - 2));
    expect(jsonDepth(applyMergePatch(cur, { spec: { x: value } }))).toBe(MAX_JSON_DEPTH);
    expect(jsonDepth(applyStrategicMergePatch(cur, { spec: { x: value } }, 'Pod', 'v1'))).toBe(MAX_JSON_DEPTH);
    expect(jsonDepth(applyJsonPatch(cur, [{ op: 'add', path: '/spec/x', value }]))).toBe(MAX_JSON_DEPTH);
  });

  it('a strategic merge patch deep inside known fields merges up to its limit and stops with 422 past it instead of overflowing', () => {
    const cur = JSON.parse(pod(''));
    for (const deep of [JSON.parse(objects(5000)), JSON.parse(arrays(5000)), JSON.parse(arrays(MAX_MERGE_DEPTH - 1))]) {
      let err: unknown;
      try {
        applyStrategicMergePatch(cur, { spec: { affinity: deep } }, 'Pod', 'v1');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PatchError);
      expect((err as PatchError).code).toBe(422);
      expect((err as PatchError).message).toMatch(/nests deeper than 500 levels/);
    }
    // spec (1) + affinity: a list nesting MAX_MERGE_DEPTH - 2 more stays within it.
    const fits = applyStrategicMergePatch(cur, { spec: { affinity: JSON.parse(arrays(MAX_MERGE_DEPTH - 2)) } }, 'Pod', 'v1') as { spec: { affinity: unknown } };
    expect(jsonDepth(fits.spec.affinity)).toBe(MAX_MERGE_DEPTH - 2);
  });
});

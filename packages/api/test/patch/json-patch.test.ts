import { applyJsonPatch, applyMergePatch, applyPatch, parseJsonPointer, parsePatchBody, patchErrorStatus, patchTypeForContentType, PatchError } from '../../src/patch/index.js';

const pod = () => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', labels: { app: 'web', 'a/b': 'x', 'm~n': 'y' } },
  spec: { containers: [{ name: 'c', image: 'nginx:1.25', args: ['-a', '-b'] }] },
});

describe('JSON pointers', () => {
  it.each([
    ['', []],
    ['/spec', ['spec']],
    ['/metadata/labels/a~1b', ['metadata', 'labels', 'a/b']],
    ['/metadata/labels/m~0n', ['metadata', 'labels', 'm~n']],
    ['/a~01', ['a~1']],
    ['/', ['']],
  ])('parses %j', (pointer, tokens) => {
    expect(parseJsonPointer(pointer)).toEqual(tokens);
  });

  it.each(['spec', '/a~2', '/a~'])('rejects %j', (pointer) => {
    expect(() => parseJsonPointer(pointer)).toThrow(/JSON pointer/);
  });
});

describe('applyJsonPatch (RFC 6902, kubectl patch --type=json)', () => {
  it('adds, replaces and removes fields and array elements', () => {
    const out = applyJsonPatch(pod(), [
      { op: 'replace', path: '/spec/containers/0/image', value: 'nginx:1.26' },
      { op: 'add', path: '/spec/containers/0/args/1', value: '-x' },
      { op: 'add', path: '/spec/containers/0/args/-', value: '-z' },
      { op: 'remove', path: '/metadata/labels/a~1b' },
      { op: 'add', path: '/metadata/annotations', value: { note: 'hi' } },
    ]);
    expect(out.spec.containers[0]).toEqual({ name: 'c', image: 'nginx:1.26', args: ['-a', '-x', '-b', '-z'] });
    expect(out.metadata.labels).toEqual({ app: 'web', 'm~n': 'y' });
    expect((out.metadata as Record<string, unknown>).annotations).toEqual({ note: 'hi' });
  });

  it('moves and copies values', () => {
    const out = applyJsonPatch(pod(), [
      { op: 'copy', from: '/metadata/labels/app', path: '/metadata/labels/copy' },
      { op: 'move', from: '/metadata/labels/m~0n', path: '/metadata/labels/moved' },
    ]);
    expect(out.metadata.labels).toEqual({ app: 'web', 'a/b': 'x', copy: 'web', moved: 'y' });
  });

  it('passes a matching test and replaces the root with an empty path', () => {
    expect(applyJsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 1 }, { op: 'replace', path: '', value: { b: 2 } }])).toEqual({ b: 2 });
    expect(applyJsonPatch({ a: { x: [1, { y: 2 }] } }, [{ op: 'test', path: '/a', value: { x: [1, { y: 2 }] } }])).toEqual({
      a: { x: [1, { y: 2 }] },
    });
  });

  it('names the failing operation index and path, and applies nothing', () => {
    const doc = pod();
    const before = JSON.stringify(doc);
    let err: unknown;
    try {
      applyJsonPatch(doc, [
        { op: 'replace', path: '/spec/containers/0/image', value: 'changed' },
        { op: 'remove', path: '/spec/nodeName' },
      ]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PatchError);
    expect((err as PatchError).message).toBe('json patch operation 1 (remove /spec/nodeName): path not found');
    expect((err as PatchError).code).toBe(422);
    expect(JSON.stringify(doc)).toBe(before);
  });

  it.each([
    [[{ op: 'test', path: '/metadata/name', value: 'other' }], /operation 0 \(test \/metadata\/name\): test failed: value is "web", expected "other"/],
    [[{ op: 'replace', path: '/spec/containers/3/image', value: 'x' }], /operation 0 \(replace \/spec\/containers\/3\/image\): index 3 is out of range/],
    [[{ op: 'add', path: '/spec/containers/01', value: {} }], /"01" is not an array index/],
    [[{ op: 'add', path: '/nope/deeper', value: 1 }], /operation 0 \(add \/nope\/deeper\): path not found/],
    [[{ op: 'move', from: '/spec', path: '/spec/inner' }], /cannot move "\/spec" into one of its own children/],
    [[{ op: 'remove', path: '' }], /cannot remove the whole document/],
  ])('rejects an operation that does not apply: %j', (ops, message) => {
    expect(() => applyJsonPatch(pod(), ops)).toThrow(message);
  });

  it.each([
    [{ op: 'add', path: '/a', value: 1 }, /array of operations/],
    [[{ op: 'frobnicate', path: '/a' }], /operation 0: unknown op "frobnicate"/],
    [[{ op: 'add', path: '/a' }], /operation 0: "add \/a" needs a "value"/],
    [[{ op: 'remove', path: '/a' }, { op: 'copy', path: '/b' }], /operation 1: "copy \/b" needs a string "from"/],
    [[{ op: 'remove', path: 'a' }], /operation 0: JSON pointer "a" must be empty or start with "\/"/],
  ])('rejects a malformed patch with 400: %j', (ops, message) => {
    let err: unknown;
    try {
      applyJsonPatch({ a: 1 }, ops);
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).toMatch(message);
    expect((err as PatchError).code).toBe(400);
  });
});

describe('applyMergePatch (RFC 7386: kubectl label / annotate / scale / patch --type=merge)', () => {
  it('kubectl label adds one label and keeps the others', () => {
    const out = applyMergePatch(pod(), { metadata: { labels: { tier: 'fe' } } });
    expect(out.metadata.labels).toEqual({ app: 'web', 'a/b': 'x', 'm~n': 'y', tier: 'fe' });
  });

  it('kubectl label tier- sends null, which removes only that label', () => {
    const out = applyMergePatch(pod(), { metadata: { labels: { 'a/b': null } } });
    expect(out.metadata.labels).toEqual({ app: 'web', 'm~n': 'y' });
  });

  it('kubectl annotate creates the annotations map', () => {
    const out = applyMergePatch(pod(), { metadata: { annotations: { owner: 'net-team' } } });
    expect(out.metadata).toEqual({ ...pod().metadata, annotations: { owner: 'net-team' } });
  });

  it('kubectl scale sets spec.replicas of the scale subresource', () => {
    const scale = { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: 'rc1' }, spec: { replicas: 1 }, status: { replicas: 1 } };
    expect(applyMergePatch(scale, { spec: { replicas: 3 } }).spec).toEqual({ replicas: 3 });
  });

  it('replaces lists whole (unlike strategic merge patch)', () => {
    const out = applyMergePatch(pod(), { spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    expect(out.spec.containers).toEqual([{ name: 'c', image: 'busybox' }]);
  });

  it('follows the RFC 7386 examples', () => {
    expect(applyMergePatch({ a: 'b' }, { a: 'c' })).toEqual({ a: 'c' });
    expect(applyMergePatch({ a: 'b' }, { b: 'c' })).toEqual({ a: 'b', b: 'c' });
    expect(applyMergePatch({ a: 'b' }, { a: null })).toEqual({});
    expect(applyMergePatch({ a: 'b', b: 'c' }, { a: null })).toEqual({ b: 'c' });
    expect(applyMergePatch({ a: ['b'] }, { a: 'c' })).toEqual({ a: 'c' });
    expect(applyMergePatch({ a: 'c' }, { a: ['b'] })).toEqual({ a: ['b'] });
    expect(applyMergePatch({ a: { b: 'c' } }, { a: { b: 'd', c: null } })).toEqual({ a: { b: 'd' } });
    expect(applyMergePatch({ a: [{ b: 'c' }] }, { a: [1] })).toEqual({ a: [1] });
    expect(applyMergePatch({ e: null }, { a: 1 })).toEqual({ e: null, a: 1 });
    expect(applyMergePatch([1, 2], { a: 'b', c: null })).toEqual({ a: 'b' });
    expect(applyMergePatch({}, { a: { bb: { ccc: null } } })).toEqual({ a: { bb: {} } });
  });

  it('does not modify its input', () => {
    const doc = pod();
    applyMergePatch(doc, { metadata: { labels: { app: null } } });
    expect(doc).toEqual(pod());
  });
});

describe('patch plumbing for the PATCH handler', () => {
  it.each([
    ['application/json-patch+json', 'json'],
    ['application/merge-patch+json; charset=utf-8', 'merge'],
    ['application/strategic-merge-patch+json', 'strategic'],
    ['application/apply-patch+yaml', 'apply'],
    ['application/json', undefined],
    [undefined, undefined],
  ])('%s is a %s patch', (ct, type) => {
    expect(patchTypeForContentType(ct)).toBe(type);
  });

  it('dispatches by type and refuses server-side apply with 415', () => {
    expect(applyPatch('merge', { a: 1 }, { b: 2 }, 'Pod')).toEqual({ a: 1, b: 2 });
    expect(applyPatch('json', { a: 1 }, [{ op: 'remove', path: '/a' }], 'Pod')).toEqual({});
    expect(() => applyPatch('apply', { a: 1 }, {}, 'Pod')).toThrow(/server-side apply/);
    expect(() => applyPatch('merge', { a: 1 }, [1], 'Pod')).toThrow('merge patch must be a JSON object');
  });

  it('turns patch errors into the Status kubectl prints', () => {
    expect(patchErrorStatus(new PatchError('json patch operation 0 (remove /a): path not found', 422))).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      code: 422,
      reason: 'Invalid',
      message: 'json patch operation 0 (remove /a): path not found',
    });
    expect(patchErrorStatus(new PatchError('bad', 415))).toMatchObject({ code: 415, reason: 'UnsupportedMediaType' });
    expect(patchErrorStatus(new PatchError('bad'))).toMatchObject({ code: 400, reason: 'BadRequest' });
  });

  it('reports an unparsable body as 400', () => {
    expect(() => parsePatchBody('merge', '{"spec":')).toThrow(/^invalid merge patch body: /);
    expect(parsePatchBody('json', '[]')).toEqual([]);
  });
});

import { resourceByName, type KubeObject } from '@pilot/api';
import { checkFields, checkPatchDuplicates, checkPatchedFields } from '../../src/apiserver/http/field-validation.js';
import { decodeRequestBody } from '../../src/apiserver/http/request.js';
import { statusOf } from './status-of.js';

const pods = resourceByName('pods')!;
const nest = (d: number) => '['.repeat(d) + ']'.repeat(d);
const podText = (extra: string) => `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"b"}]${extra}}}`;

function reply() {
  const headers = new Map<string, unknown>();
  return { headers, res: { headersSent: false, setHeader: (k: string, v: unknown) => void headers.set(k, v), getHeader: (k: string) => headers.get(k) } as never };
}

describe('request bodies nested past 10,000 levels', () => {
  it('are 400 with kube-apiserver words for each role; 10,000 levels decode', () => {
    const deep = Buffer.from(podText(`,"x":${nest(9_999)}`));
    expect(statusOf(() => decodeRequestBody(deep, 'json', { role: { kind: 'Pod' } }))).toEqual({
      code: 400,
      reason: 'BadRequest',
      message: `the object provided is unrecognized (must be of type Pod): couldn't get version/kind; json parse error: invalid character '[' exceeded max depth ({"apiVersion":"v1","kind":"Pod ...)`,
    });
    const patch = Buffer.from(`{"spec":{"x":${nest(9_999)}}}`);
    expect(statusOf(() => decodeRequestBody(patch, 'json', { role: { patch: 'merge-patch' } })).message).toBe(`error decoding patch: invalid character '[' exceeded max depth`);
    expect(statusOf(() => decodeRequestBody(patch, 'json', { role: { patch: 'json-patch' } })).message).toBe(`error decoding patch: invalid character '[' exceeded max depth`);
    expect(statusOf(() => decodeRequestBody(patch, 'json', { role: { patch: 'strategic-merge-patch' } })).message).toBe(`invalid character '[' exceeded max depth`);
    expect(statusOf(() => decodeRequestBody(Buffer.from(nest(10_001)), 'json')).message).toBe(`invalid character '[' exceeded max depth`);
    expect(decodeRequestBody(Buffer.from(podText(`,"x":${nest(9_998)}`)), 'json', { role: { kind: 'Pod' } }).value).toMatchObject({ kind: 'Pod' });
  });

  it('a YAML body is held to the same depth once parsed', () => {
    const yaml = `apiVersion: v1\nkind: Pod\nx: ${'['.repeat(10_001)}${']'.repeat(10_001)}\n`;
    expect(statusOf(() => decodeRequestBody(Buffer.from(yaml), 'yaml', { role: { kind: 'Pod' } }))).toMatchObject({ code: 400 });
  });

  it('a 10,000-level unknown field is dropped under Warn; a deep value in a typed field is 400, in a patched object 422', () => {
    const { res, headers } = reply();
    const body = decodeRequestBody(Buffer.from(podText(`,"x":${nest(9_998)}`)), 'json', { role: { kind: 'Pod' }, duplicates: true });
    expect(checkFields(res, pods, undefined, body.value, 'Warn', body.duplicates)).toEqual(JSON.parse(podText('')));
    expect(headers.get('warning')).toEqual(['299 - "unknown field \\"spec.x\\""']);

    const typed = JSON.parse(podText(`,"affinity":${nest(5_000)}`));
    expect(statusOf(() => checkFields(res, pods, undefined, typed, 'Warn'))).toMatchObject({ code: 400, message: expect.stringMatching(/^Pod in version "v1" cannot be handled as a Pod: the object nests deeper than 1000 levels/) });
    const current = JSON.parse(podText('')) as KubeObject;
    expect(statusOf(() => checkPatchedFields(res, pods, undefined, typed as KubeObject, current, 'Warn'))).toMatchObject({ code: 422, reason: 'Invalid' });
  });
});

describe('repeated keys', () => {
  const text = '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","name":"p"},"spec":{"containers":[{"name":"c","image":"b"}]}}';

  it('in a body: Strict is 400 naming the field, Warn keeps the last value and warns, Ignore does not look', () => {
    const strict = decodeRequestBody(Buffer.from(text), 'json', { role: { kind: 'Pod' }, duplicates: true });
    expect(strict.duplicates).toEqual(['metadata.name']);
    expect(statusOf(() => checkFields(reply().res, pods, undefined, strict.value, 'Strict', strict.duplicates))).toEqual({
      code: 400,
      reason: 'BadRequest',
      message: 'Pod in version "v1" cannot be handled as a Pod: strict decoding error: duplicate field "metadata.name"',
    });
    const { res, headers } = reply();
    expect((checkFields(res, pods, undefined, strict.value, 'Warn', strict.duplicates) as KubeObject).metadata.name).toBe('p');
    expect(headers.get('warning')).toEqual(['299 - "duplicate field \\"metadata.name\\""']);
    expect(decodeRequestBody(Buffer.from(text), 'json', { role: { kind: 'Pod' } }).duplicates).toEqual([]);
  });

  it('in a patch: Strict is 422 Invalid on `patch`, Warn warns (json patch ones prefixed), Ignore passes', () => {
    const s = statusOf(() => checkPatchDuplicates(reply().res, 'merge-patch', { metadata: {} }, ['metadata.labels.a'], 'Strict'));
    expect(s).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(s.message).toMatch(/^ "" is invalid: patch: Invalid value: .*: strict decoding error: duplicate field "metadata.labels.a"$/);
    const { res, headers } = reply();
    checkPatchDuplicates(res, 'json-patch', [], ['[0].op'], 'Warn');
    checkPatchDuplicates(res, 'json-patch', [], ['[1].op'], 'Warn');
    expect(headers.get('warning')).toEqual(['299 - "json patch duplicate field \\"[0].op\\""', '299 - "json patch duplicate field \\"[1].op\\""']);
    expect(() => checkPatchDuplicates(res, 'merge-patch', {}, ['a'], 'Ignore')).not.toThrow();
  });
});

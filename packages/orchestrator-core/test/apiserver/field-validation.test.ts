import { resourceByName, type KubeObject, type Pod } from '@pilot/api';
import { checkFields, checkPatchedFields, fieldDirective } from '../../src/apiserver/http/field-validation.js';
import { StatusError } from '../../src/apiserver/status.js';

const pods = resourceByName('pods')!;
const pod = (extra: Record<string, unknown> = {}): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox', ...extra }] } }) as KubeObject;

/** Collects the headers a reply would carry. */
function reply() {
  const headers = new Map<string, unknown>();
  return { headers, res: { headersSent: false, setHeader: (k: string, v: unknown) => void headers.set(k, v) } as never };
}

describe('fieldValidation', () => {
  it('parses the directive; unset is Warn, a bad value a one-line 400', () => {
    expect(fieldDirective(new URLSearchParams(''))).toBe('Warn');
    expect(fieldDirective(new URLSearchParams('fieldValidation=Strict'))).toBe('Strict');
    expect(() => fieldDirective(new URLSearchParams('fieldValidation=strict'))).toThrow(StatusError);
  });

  it('Strict refuses an unknown field with the line kubectl prints; Warn drops it and sets a Warning header; Ignore drops it quietly', () => {
    const { res, headers } = reply();
    let err: unknown;
    try {
      checkFields(res, pods, undefined, pod({ imagee: 'x' }), 'Strict');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 400, reason: 'BadRequest', message: 'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[0].imagee"' });

    const warned = checkFields(res, pods, undefined, pod({ imagee: 'x' }), 'Warn') as Pod;
    expect(warned.spec!.containers[0]).toEqual({ name: 'c', image: 'busybox' });
    expect(headers.get('warning')).toEqual(['299 - "unknown field \\"spec.containers[0].imagee\\""']);

    const quiet = reply();
    expect(checkFields(quiet.res, pods, undefined, pod({ imagee: 'x' }), 'Ignore')).toEqual(pod());
    expect(quiet.headers.size).toBe(0);
  });

  it('a patch is judged only on the unknown fields it brings in', () => {
    const stored = pod({ legacy: 1 });
    const { res } = reply();
    // A label change on an object that already holds an unknown field passes under Strict.
    const relabelled = { ...stored, metadata: { name: 'p', labels: { a: 'b' } } } as KubeObject;
    expect(checkPatchedFields(res, pods, undefined, relabelled, stored, 'Strict')).toBe(relabelled);
    expect(() => checkPatchedFields(res, pods, undefined, pod({ legacy: 1, typo: 2 }), stored, 'Strict')).toThrow(/unknown field "spec.containers\[0\].typo"/);
  });
});

import { listOptions } from '../../src/apiserver/http/list-options.js';
import { StatusError } from '../../src/apiserver/status.js';

const thrown = (query: string) => {
  try {
    listOptions(new URLSearchParams(query), undefined);
  } catch (err) {
    if (err instanceof StatusError) return err.status;
    throw err;
  }
  throw new Error('expected a StatusError');
};

describe('list options as kube-apiserver validates them', () => {
  it('resourceVersionMatch without resourceVersion is 422 Invalid on ListOptions.meta.k8s.io', () => {
    expect(thrown('resourceVersionMatch=NotOlderThan')).toMatchObject({
      code: 422,
      reason: 'Invalid',
      message: 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
      details: { group: 'meta.k8s.io', kind: 'ListOptions', name: '', causes: [{ reason: 'FieldValueForbidden', field: 'resourceVersionMatch' }] },
    });
  });

  it('Exact with "0", an unknown match and a match with continue are refused, several at once in brackets', () => {
    expect(thrown('resourceVersion=0&resourceVersionMatch=Exact').message).toBe(
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
    );
    expect(thrown('resourceVersion=5&resourceVersionMatch=exact').message).toBe(
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Unsupported value: "exact": supported values: "Exact", "NotOlderThan", ""',
    );
    expect(thrown('resourceVersionMatch=Exact&continue=abc').message).toBe(
      'ListOptions.meta.k8s.io "" is invalid: [resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided, resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided]',
    );
  });

  it('a resourceVersion that is no revision, or one beside continue, is 400; valid options pass through', () => {
    expect(thrown('resourceVersion=abc')).toMatchObject({ code: 400 });
    expect(thrown('resourceVersion=7&continue=abc')).toMatchObject({ code: 400, message: 'specifying resource version is not allowed when using continue' });
    expect(listOptions(new URLSearchParams('resourceVersion=7&resourceVersionMatch=Exact&labelSelector=a%3Db'), 10)).toEqual({
      labelSelector: 'a=b',
      fieldSelector: '',
      limit: 10,
      resourceVersion: '7',
      resourceVersionMatch: 'Exact',
    });
    expect(listOptions(new URLSearchParams('resourceVersion=0&continue=abc'), undefined)).toMatchObject({ continue: 'abc', resourceVersion: '0' });
  });
});

import { badRequest, invalid, notFound, StatusError, tooLarge } from '../../src/apiserver/status.js';
import { notFound as sharedNotFound, requestEntityTooLarge } from '@pilot/api';

describe('Status errors', () => {
  it('carry the Status of the shared @pilot/api builders', () => {
    const e = notFound('pods', 'nope');
    expect(e).toBeInstanceOf(StatusError);
    expect(e.toStatus()).toEqual(sharedNotFound('pods', 'nope'));
    expect(e).toMatchObject({ code: 404, reason: 'NotFound', message: 'pods "nope" not found' });
    expect(tooLarge(10).toStatus()).toEqual(requestEntityTooLarge(10));
    expect(badRequest('x').toStatus()).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 400, reason: 'BadRequest', message: 'x' });
  });

  it('Invalid: causes for kubectl, one problem bare, several in brackets', () => {
    const one = invalid('Pod', 'p', [{ type: 'FieldValueRequired', field: 'spec.containers', message: 'Required value' }]);
    expect(one.toStatus()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Pod "p" is invalid: spec.containers: Required value',
      reason: 'Invalid',
      details: { name: 'p', kind: 'Pod', causes: [{ type: 'FieldValueRequired', reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' }] },
      code: 422,
    });
    const two = invalid('Pod', 'p', [
      { type: 'FieldValueRequired', field: 'a', message: 'Required value' },
      { type: 'FieldValueInvalid', field: 'b', message: 'Invalid value: 1' },
    ]);
    expect(two.message).toBe('Pod "p" is invalid: [a: Required value, b: Invalid value: 1]');
  });
});

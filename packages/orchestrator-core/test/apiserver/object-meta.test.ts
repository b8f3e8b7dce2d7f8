import { fieldErrorMessage, validateObject, type KubeObject, type ObjectMeta } from '@pilot/api';
import { carryServerMeta, checkRequestIdentity } from '../../src/apiserver/registry/object-meta.js';
import { statusOf } from './status-of.js';

describe('an update names the object its URL names', () => {
  it('a different or missing name is 400 in kube-apiserver words; the namespace is checked first', () => {
    const obj = (metadata: Record<string, unknown>) => ({ metadata });
    expect(statusOf(() => checkRequestIdentity(obj({ name: 'other' }), true, 'default', 'yaml1'))).toEqual({
      code: 400,
      reason: 'BadRequest',
      message: 'the name of the object (other) does not match the name on the URL (yaml1)',
    });
    expect(statusOf(() => checkRequestIdentity(obj({}), true, 'default', 'yaml1')).message).toBe('the name of the object (yaml1 based on URL) was undeterminable: name must be provided');
    expect(statusOf(() => checkRequestIdentity({}, false, undefined, 'n1')).message).toBe('the name of the object (n1 based on URL) was undeterminable: name must be provided');
    expect(statusOf(() => checkRequestIdentity(obj({ name: 'other', namespace: 'kube-system' }), true, 'default', 'yaml1')).message).toBe(
      'the namespace of the provided object does not match the namespace sent on the request',
    );
  });

  it('an empty namespace is the URL one; a cluster-scoped object keeps whatever the registry makes of it', () => {
    const o = { metadata: { name: 'p' } as Record<string, unknown> };
    checkRequestIdentity(o, true, 'default', 'p');
    expect(o.metadata.namespace).toBe('default');
    expect(() => checkRequestIdentity({ metadata: { name: 'n1', namespace: 'x' } }, false, undefined, 'n1')).not.toThrow();
  });
});

describe('server-owned metadata on update', () => {
  const old: ObjectMeta = { name: 'p', namespace: 'default', uid: 'u-1', creationTimestamp: '2026-01-01T00:00:00Z', generation: 3 };

  it('an empty uid takes the stored one; a creationTimestamp change is ignored (as upstream)', () => {
    const next: ObjectMeta = { name: 'p', namespace: 'default', creationTimestamp: '1999-01-01T00:00:00Z' };
    carryServerMeta(old, next);
    expect(next).toEqual({ name: 'p', namespace: 'default', uid: 'u-1', creationTimestamp: '2026-01-01T00:00:00Z' });
  });

  it('a different uid, or a deletionTimestamp / grace period set by a client, is left for validation to refuse (field is immutable)', () => {
    const next: ObjectMeta = { name: 'p', namespace: 'default', uid: 'u-2', deletionTimestamp: '2026-02-02T00:00:00Z', deletionGracePeriodSeconds: 5 };
    carryServerMeta(old, next);
    const pod = (metadata: ObjectMeta) => ({ apiVersion: 'v1', kind: 'Pod', metadata, spec: { containers: [{ name: 'c', image: 'b' }] } }) as KubeObject;
    expect(validateObject('pods', pod(next), pod(old)).map((e) => `${e.field}: ${fieldErrorMessage(e)}`)).toEqual([
      'metadata.uid: Invalid value: "u-2": field is immutable',
      'metadata.deletionTimestamp: Invalid value: "2026-02-02T00:00:00Z": field is immutable',
      'metadata.deletionGracePeriodSeconds: Invalid value: 5: field is immutable',
    ]);
  });

  it('an object being deleted keeps its deletionTimestamp and grace period whatever the body says', () => {
    const deleting: ObjectMeta = { ...old, deletionTimestamp: '2026-03-03T00:00:00Z', deletionGracePeriodSeconds: 30 };
    const next: ObjectMeta = { name: 'p', uid: 'u-1', deletionTimestamp: '2030-01-01T00:00:00Z' };
    carryServerMeta(deleting, next);
    expect(next).toMatchObject({ deletionTimestamp: '2026-03-03T00:00:00Z', deletionGracePeriodSeconds: 30 });
  });
});

import { decodeKubernetesProtobuf, K8S_PROTOBUF_MAGIC } from '../../src/protobuf/index.js';

/**
 * The rbac/v1 and authorization/v1 bodies kubectl's typed clients send
 * (`create rolebinding`, `auth can-i`), built here from generated.proto's
 * field numbers with a minimal encoder.
 */

const varint = (v: number): number[] => {
  const out: number[] = [];
  do {
    const b = v & 0x7f;
    v >>>= 7;
    out.push(v === 0 ? b : b | 0x80);
  } while (v !== 0);
  return out;
};
const field = (num: number, bytes: number[] | string): number[] => {
  const b = typeof bytes === 'string' ? [...Buffer.from(bytes)] : bytes;
  return [...varint((num << 3) | 2), ...varint(b.length), ...b];
};
const envelope = (apiVersion: string, kind: string, raw: number[]): Buffer =>
  Buffer.from([...K8S_PROTOBUF_MAGIC, ...field(1, [...field(1, apiVersion), ...field(2, kind)]), ...field(2, raw)]);

describe('rbac and authorization protobuf bodies', () => {
  it('a RoleBinding (kubectl create rolebinding --clusterrole=view --user=bob)', () => {
    const raw = [
      ...field(1, field(1, 'bob-view')),
      ...field(2, [...field(1, 'User'), ...field(2, 'rbac.authorization.k8s.io'), ...field(3, 'bob')]),
      ...field(3, [...field(1, 'rbac.authorization.k8s.io'), ...field(2, 'ClusterRole'), ...field(3, 'view')]),
    ];
    expect(decodeKubernetesProtobuf(envelope('rbac.authorization.k8s.io/v1', 'RoleBinding', raw))).toEqual({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'bob-view' },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'bob' }],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
    });
  });

  it('a Role with rules', () => {
    const raw = [...field(1, field(1, 'r')), ...field(2, [...field(1, 'get'), ...field(1, 'list'), ...field(2, ''), ...field(3, 'pods')])];
    expect(decodeKubernetesProtobuf(envelope('rbac.authorization.k8s.io/v1', 'Role', raw))).toMatchObject({ rules: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }] });
  });

  it('a SelfSubjectAccessReview (kubectl auth can-i list pods -n dev)', () => {
    const raw = [...field(1, []), ...field(2, field(1, [...field(1, 'dev'), ...field(2, 'list'), ...field(5, 'pods')]))];
    expect(decodeKubernetesProtobuf(envelope('authorization.k8s.io/v1', 'SelfSubjectAccessReview', raw))).toEqual({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      metadata: {},
      spec: { resourceAttributes: { namespace: 'dev', verb: 'list', resource: 'pods' } },
    });
  });
});

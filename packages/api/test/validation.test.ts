import { defaultObject, validateObject, validateStatusUpdate, type FieldError } from '../src/validation.js';
import { invalid } from '../src/errors.js';
import type { Endpoints, KubeObject, Pod, ReplicationController, Service } from '../src/types.js';

const fieldsOf = (errs: FieldError[]) => errs.map((e) => `${e.field} ${e.type}`);

function goodPod(): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'default', labels: { app: 'web' } },
    spec: { containers: [{ name: 'web', image: 'busybox:1.36', ports: [{ containerPort: 80, name: 'http' }] }] },
  };
}

function goodService(): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default' },
    spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] },
  };
}

function goodRC(): ReplicationController {
  return {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas: 2,
      selector: { app: 'web' },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'busybox' }] } },
    },
  };
}

describe('validateObject: metadata', () => {
  it('accepts well-formed objects of every kind', () => {
    expect(validateObject('pods', goodPod())).toEqual([]);
    expect(validateObject('services', goodService())).toEqual([]);
    expect(validateObject('replicationcontrollers', goodRC())).toEqual([]);
    expect(validateObject('namespaces', { metadata: { name: 'kube-system' } })).toEqual([]);
    expect(validateObject('nodes', { metadata: { name: 'h1.example' }, spec: { podCIDR: '10.1.5.0/24' } })).toEqual([]);
    expect(
      validateObject('leases', {
        metadata: { name: 'h1', namespace: 'kube-node-lease' },
        spec: { holderIdentity: 'h1', leaseDurationSeconds: 40, renewTime: '2026-01-02T15:04:05.123456Z' },
      }),
    ).toEqual([]);
    expect(
      validateObject('events', {
        metadata: { name: 'web-1.abc', namespace: 'default' },
        involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'default' },
        type: 'Normal',
        reason: 'Scheduled',
      }),
    ).toEqual([]);
  });

  it('requires a name or generateName, and checks names by the rule of each kind', () => {
    expect(fieldsOf(validateObject('pods', { ...goodPod(), metadata: { namespace: 'default' } }))).toEqual(['metadata.name FieldValueRequired']);
    expect(validateObject('pods', { ...goodPod(), metadata: { generateName: 'web-', namespace: 'default' } })).toEqual([]);
    expect(fieldsOf(validateObject('pods', { ...goodPod(), metadata: { name: 'Web_1', namespace: 'default' } }))).toEqual(['metadata.name FieldValueInvalid']);
    // Pod names are subdomains (dots ok); namespaces and services are labels.
    expect(validateObject('pods', { ...goodPod(), metadata: { name: 'web.1', namespace: 'default' } })).toEqual([]);
    expect(fieldsOf(validateObject('namespaces', { metadata: { name: 'a.b' } }))).toEqual(['metadata.name FieldValueInvalid']);
    expect(fieldsOf(validateObject('services', { ...goodService(), metadata: { name: '1web', namespace: 'default' } }))).toEqual([
      'metadata.name FieldValueInvalid',
    ]);
    expect(fieldsOf(validateObject('pods', { ...goodPod(), metadata: { name: 'x'.repeat(254), namespace: 'default' } }))).toEqual([
      'metadata.name FieldValueInvalid',
    ]);
  });

  it('requires a namespace on namespaced kinds and forbids it on cluster-scoped ones', () => {
    expect(fieldsOf(validateObject('pods', { ...goodPod(), metadata: { name: 'p' } }))).toEqual(['metadata.namespace FieldValueRequired']);
    expect(fieldsOf(validateObject('nodes', { metadata: { name: 'n1', namespace: 'default' } }))).toEqual(['metadata.namespace FieldValueForbidden']);
  });

  it('checks label keys and values and the total annotation size', () => {
    const pod = goodPod();
    pod.metadata.labels = { 'example.com/ok': 'yes', 'bad key': 'v', good: '-bad-' };
    pod.metadata.annotations = { big: 'x'.repeat(256 * 1024) };
    expect(fieldsOf(validateObject('pods', pod))).toEqual([
      'metadata.labels FieldValueInvalid',
      'metadata.labels[good] FieldValueInvalid',
      'metadata.annotations FieldValueTooLong',
    ]);
  });

  it('keeps names immutable on update', () => {
    const old = goodService();
    const renamed = { ...goodService(), metadata: { name: 'other', namespace: 'default' } };
    expect(fieldsOf(validateObject('services', renamed, old))).toContain('metadata.name FieldValueInvalid');
  });
});

describe('validateObject: pods', () => {
  it('requires containers with unique names and an image, and valid ports', () => {
    const pod = goodPod();
    pod.spec!.containers = [
      { name: 'a', image: 'x', ports: [{ containerPort: 0 }, { containerPort: 80, protocol: 'ICMP' }] },
      { name: 'a' },
    ];
    expect(fieldsOf(validateObject('pods', pod))).toEqual([
      'spec.containers[0].ports[0].containerPort FieldValueInvalid',
      'spec.containers[0].ports[1].protocol FieldValueNotSupported',
      'spec.containers[1].image FieldValueRequired',
      'spec.containers[1].name FieldValueDuplicate',
    ]);
    expect(fieldsOf(validateObject('pods', { ...goodPod(), spec: { containers: [] } }))).toEqual(['spec.containers FieldValueRequired']);
    expect(fieldsOf(validateObject('pods', { metadata: { name: 'p', namespace: 'd' } }))).toEqual(['spec FieldValueRequired']);
  });

  it('checks restartPolicy, dnsPolicy, volume mounts and probes', () => {
    const pod = goodPod();
    pod.spec!.restartPolicy = 'Sometimes';
    pod.spec!.dnsPolicy = 'Google';
    pod.spec!.volumes = [{ name: 'data', emptyDir: {} }];
    pod.spec!.containers[0]!.volumeMounts = [{ name: 'nope', mountPath: '/x' }];
    pod.spec!.containers[0]!.readinessProbe = { httpGet: { port: 70000 } };
    expect(fieldsOf(validateObject('pods', pod))).toEqual([
      'spec.containers[0].volumeMounts[0].name FieldValueNotSupported',
      'spec.containers[0].readinessProbe.httpGet.port FieldValueInvalid',
      'spec.restartPolicy FieldValueNotSupported',
      'spec.dnsPolicy FieldValueNotSupported',
    ]);
  });

  it('allows image changes and binding on update but no other spec change', () => {
    const old = defaultObject('pods', goodPod());
    const newImage = defaultObject('pods', goodPod());
    newImage.spec!.containers[0]!.image = 'busybox:1.37';
    newImage.spec!.nodeName = 'n1';
    expect(validateObject('pods', newImage, old)).toEqual([]);
    const newPort = defaultObject('pods', goodPod());
    newPort.spec!.containers[0]!.ports![0]!.containerPort = 81;
    expect(fieldsOf(validateObject('pods', newPort, old))).toEqual(['spec FieldValueForbidden']);
    const bound = { ...old, spec: { ...old.spec!, nodeName: 'n1' } };
    const moved = { ...old, spec: { ...old.spec!, nodeName: 'n2' } };
    expect(fieldsOf(validateObject('pods', moved, bound))).toContain('spec.nodeName FieldValueInvalid');
  });
});

describe('validateObject: services', () => {
  it('checks ports, protocols and targetPort as number or IANA name', () => {
    const svc = goodService();
    svc.spec!.ports = [
      { name: 'a', port: 0 },
      { name: 'b', port: 53, protocol: 'ICMP' },
      { name: 'c', port: 80, targetPort: 'Not_A_Name' },
      { name: 'd', port: 81, targetPort: 65536 },
      { port: 82 },
    ];
    expect(fieldsOf(validateObject('services', svc))).toEqual([
      'spec.ports[0].port FieldValueInvalid',
      'spec.ports[1].protocol FieldValueNotSupported',
      'spec.ports[2].targetPort FieldValueInvalid',
      'spec.ports[3].targetPort FieldValueInvalid',
      'spec.ports[4].name FieldValueRequired',
    ]);
  });

  it('requires ports unless headless, rejects duplicate port/protocol pairs and bad IPs', () => {
    expect(fieldsOf(validateObject('services', { ...goodService(), spec: { selector: { a: 'b' } } }))).toEqual(['spec.ports FieldValueRequired']);
    expect(validateObject('services', { ...goodService(), spec: { clusterIP: 'None', selector: { a: 'b' } } })).toEqual([]);
    const dup = goodService();
    dup.spec!.ports = [
      { name: 'a', port: 53, protocol: 'UDP' },
      { name: 'b', port: 53, protocol: 'TCP' },
      { name: 'c', port: 53, protocol: 'UDP' },
    ];
    dup.spec!.clusterIP = '10.0.0.300';
    expect(fieldsOf(validateObject('services', dup))).toEqual(['spec.clusterIP FieldValueInvalid', 'spec.ports[2] FieldValueDuplicate']);
  });

  it('handles ExternalName, NodePort and headless type rules', () => {
    expect(validateObject('services', { metadata: { name: 'ext', namespace: 'd' }, spec: { type: 'ExternalName', externalName: 'example.com' } })).toEqual([]);
    expect(fieldsOf(validateObject('services', { metadata: { name: 'ext', namespace: 'd' }, spec: { type: 'ExternalName' } }))).toEqual([
      'spec.externalName FieldValueRequired',
    ]);
    const np = goodService();
    np.spec!.ports![0]!.nodePort = 30080;
    expect(fieldsOf(validateObject('services', np))).toEqual(['spec.ports[0].nodePort FieldValueForbidden']);
    np.spec!.type = 'NodePort';
    expect(validateObject('services', np)).toEqual([]);
    np.spec!.clusterIP = 'None';
    expect(fieldsOf(validateObject('services', np))).toEqual(['spec.clusterIP FieldValueInvalid']);
    const t = goodService();
    t.spec!.type = 'Magic';
    expect(fieldsOf(validateObject('services', t))).toEqual(['spec.type FieldValueNotSupported']);
  });

  it('allows healthCheckNodePort and loadBalancerSourceRanges only on a LoadBalancer (Local for the port)', () => {
    const lb = goodService();
    lb.spec = { ...lb.spec!, type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 32000, loadBalancerSourceRanges: ['198.51.100.0/24', '203.0.113.7/32'] };
    expect(validateObject('services', lb)).toEqual([]);
    lb.spec.healthCheckNodePort = 70000;
    lb.spec.loadBalancerSourceRanges = ['10.0.0.0/33', 'nope'];
    expect(fieldsOf(validateObject('services', lb))).toEqual([
      'spec.healthCheckNodePort FieldValueInvalid',
      'spec.loadBalancerSourceRanges[0] FieldValueInvalid',
      'spec.loadBalancerSourceRanges[1] FieldValueInvalid',
    ]);
    const np = goodService();
    np.spec = { ...np.spec!, type: 'NodePort', externalTrafficPolicy: 'Cluster', healthCheckNodePort: 32000, loadBalancerSourceRanges: ['198.51.100.0/24'] };
    expect(fieldsOf(validateObject('services', np))).toEqual(['spec.healthCheckNodePort FieldValueInvalid', 'spec.loadBalancerSourceRanges FieldValueForbidden']);
  });

  it('keeps clusterIP immutable on update', () => {
    const old = { ...goodService(), spec: { ...goodService().spec!, clusterIP: '10.0.0.20' } };
    const changed = { ...goodService(), spec: { ...goodService().spec!, clusterIP: '10.0.0.21' } };
    expect(fieldsOf(validateObject('services', changed, old))).toEqual(['spec.clusterIP FieldValueInvalid']);
    expect(validateObject('services', old, old)).toEqual([]);
  });
});

describe('validateObject: RCs, endpoints and others', () => {
  it('requires the RC selector to match the template labels', () => {
    const rc = goodRC();
    rc.spec!.template!.metadata!.labels = { app: 'other' };
    const errs = validateObject('replicationcontrollers', rc);
    expect(fieldsOf(errs)).toEqual(['spec.template.metadata.labels FieldValueInvalid']);
    expect(errs[0]!.message).toContain('`selector` does not match template `labels`');
    const noSel = goodRC();
    delete noSel.spec!.selector;
    expect(fieldsOf(validateObject('replicationcontrollers', noSel))).toEqual(['spec.selector FieldValueRequired']);
    const neg = goodRC();
    neg.spec!.replicas = -1;
    neg.spec!.template!.spec!.containers[0]!.image = '';
    expect(fieldsOf(validateObject('replicationcontrollers', neg))).toEqual([
      'spec.replicas FieldValueInvalid',
      'spec.template.spec.containers[0].image FieldValueRequired',
    ]);
  });

  it('requires Endpoints addresses to be IPs outside loopback and link-local', () => {
    const ep: Endpoints = {
      metadata: { name: 'web', namespace: 'default' },
      subsets: [{ addresses: [{ ip: '10.1.5.3' }, { ip: 'web-1' }, { ip: '127.0.0.1' }], ports: [{ port: 80 }, { port: 0, name: 'x' }] }],
    };
    expect(fieldsOf(validateObject('endpoints', ep))).toEqual([
      'subsets[0].addresses[1].ip FieldValueInvalid',
      'subsets[0].addresses[2].ip FieldValueInvalid',
      'subsets[0].ports[0].name FieldValueRequired',
      'subsets[0].ports[1].port FieldValueInvalid',
    ]);
  });

  it('checks EndpointSlice address types, node taints, event and lease basics', () => {
    expect(
      fieldsOf(
        validateObject('endpointslices', {
          metadata: { name: 'web-abc', namespace: 'default' },
          addressType: 'IPv4',
          endpoints: [{ addresses: ['10.1.5.3'] }, { addresses: ['fe80::1'] }],
          ports: [{ port: 80, protocol: 'TCP' }],
        }),
      ),
    ).toEqual(['endpoints[1].addresses[0] FieldValueInvalid']);
    expect(fieldsOf(validateObject('nodes', { metadata: { name: 'n' }, spec: { podCIDR: '10.1.5.1/24', taints: [{ key: 'k', effect: 'Sometimes' }] } }))).toEqual([
      'spec.podCIDR FieldValueInvalid',
      'spec.taints[0].effect FieldValueNotSupported',
    ]);
    expect(fieldsOf(validateObject('events', { metadata: { name: 'e', namespace: 'default' }, involvedObject: { kind: 'Pod' }, type: 'Odd' }))).toEqual([
      'involvedObject.name FieldValueRequired',
      'type FieldValueNotSupported',
    ]);
    expect(fieldsOf(validateObject('leases', { metadata: { name: 'l', namespace: 'n' }, spec: { leaseDurationSeconds: 0, renewTime: 'yesterday' } }))).toEqual([
      'spec.leaseDurationSeconds FieldValueInvalid',
      'spec.renewTime FieldValueInvalid',
    ]);
    expect(fieldsOf(validateObject('bindings', { metadata: { name: 'p' }, target: { kind: 'Node' } }))).toEqual(['target.name FieldValueRequired']);
  });

  it('turns field errors into a 422 Status whose causes kubectl prints', () => {
    const pod = goodPod();
    pod.spec!.containers = [];
    const st = invalid('Pod', 'web-1', validateObject('pods', pod));
    expect(st).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      code: 422,
      reason: 'Invalid',
      details: { name: 'web-1', kind: 'Pod', causes: [{ reason: 'FieldValueRequired', field: 'spec.containers', message: 'Required value' }] },
    });
    expect(st.message).toBe('Pod "web-1" is invalid: spec.containers: Required value');
    const svc = goodService();
    svc.spec!.ports = [{ port: 70000, protocol: 'ICMP' }];
    expect(invalid('Service', 'web', validateObject('services', svc)).message).toBe(
      'Service "web" is invalid: [spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive, ' +
        'spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"]',
    );
  });
});

describe('defaultObject', () => {
  it('defaults services: type, protocol, targetPort, sessionAffinity', () => {
    const svc = goodService();
    svc.spec!.ports = [{ port: 80 }, { port: 53, protocol: 'UDP', targetPort: 5353 }];
    const d = defaultObject('services', svc);
    expect(d.spec).toMatchObject({
      type: 'ClusterIP',
      sessionAffinity: 'None',
      ports: [
        { port: 80, protocol: 'TCP', targetPort: 80 },
        { port: 53, protocol: 'UDP', targetPort: 5353 },
      ],
    });
    expect(svc.spec!.type).toBeUndefined(); // input untouched
    const np = defaultObject('services', { ...goodService(), spec: { ...goodService().spec!, type: 'NodePort', sessionAffinity: 'ClientIP' } });
    expect(np.spec).toMatchObject({ externalTrafficPolicy: 'Cluster', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } } });
  });

  it('defaults pods: restartPolicy, dnsPolicy, grace period, protocols, pull policy', () => {
    const pod = goodPod();
    pod.spec!.containers.push({ name: 'side', image: 'registry:5000/tool' });
    const d = defaultObject('pods', pod);
    expect(d.spec).toMatchObject({ restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', terminationGracePeriodSeconds: 30 });
    expect(d.spec!.containers[0]).toMatchObject({ imagePullPolicy: 'IfNotPresent', ports: [{ containerPort: 80, protocol: 'TCP' }] });
    expect(d.spec!.containers[1]!.imagePullPolicy).toBe('Always');
    expect(validateObject('pods', d)).toEqual([]);
  });

  it('defaults RCs: replicas, selector and labels from the template', () => {
    const rc = goodRC();
    delete rc.spec!.replicas;
    delete rc.spec!.selector;
    const d = defaultObject('replicationcontrollers', rc);
    expect(d.spec!.replicas).toBe(1);
    expect(d.spec!.selector).toEqual({ app: 'web' });
    expect(d.metadata.labels).toEqual({ app: 'web' });
    expect(d.spec!.template!.spec!.restartPolicy).toBe('Always');
    expect(validateObject('replicationcontrollers', d)).toEqual([]);
  });

  it('defaults endpoint port protocols and namespace phase', () => {
    const ep = defaultObject('endpoints', { metadata: { name: 'e', namespace: 'd' }, subsets: [{ addresses: [{ ip: '10.1.1.1' }], ports: [{ port: 80 }] }] } as KubeObject as Endpoints);
    expect(ep.subsets![0]!.ports![0]!.protocol).toBe('TCP');
    const ns = defaultObject('namespaces', { metadata: { name: 'x' } });
    expect(ns).toMatchObject({ status: { phase: 'Active' } });
  });
});

describe('ConfigMap and Secret', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const cm = (extra: object): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' }, ...extra });
  const secret = (extra: object): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, ...extra });

  it('data keys must be valid config keys: [-._a-zA-Z0-9], not . or .., no .. prefix, at most 253', () => {
    expect(validateObject('configmaps', cm({ data: { 'a.b_c-D9': 'x', '.hidden': 'y' } }))).toEqual([]);
    expect(fieldsOf(validateObject('configmaps', cm({ data: { 'a/b': 'x', '..x': 'y', '.': 'z' } })))).toEqual([
      'data[a/b] FieldValueInvalid',
      'data[..x] FieldValueInvalid',
      'data[.] FieldValueInvalid',
    ]);
    const errs = validateObject('secrets', secret({ data: { 'a b': b64('x'), ['k'.repeat(254)]: '' } }));
    expect(errs.map((e) => e.message)).toEqual([
      "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
      'must be no more than 253 characters',
    ]);
  });

  it('a key in both data and binaryData is a duplicate; binaryData must be base64', () => {
    expect(fieldsOf(validateObject('configmaps', cm({ data: { a: '1' }, binaryData: { a: b64('1'), b: '!!' } })))).toEqual(['binaryData[b] FieldValueInvalid', 'data[a] FieldValueInvalid']);
  });

  it("Secret data must be base64: the error names the key, never the value", () => {
    const errs = validateObject('secrets', secret({ data: { p: 'hunter2!', ok: b64('fine'), pad: 'YQ=', mid: 'YQ==YQ==' } }));
    expect(errs.map((e) => [e.field, e.message, e.value])).toEqual([
      ['data[p]', 'illegal base64 data at input byte 7', '<secret contents redacted>'],
      ['data[pad]', 'illegal base64 data at input byte 3', '<secret contents redacted>'],
      ['data[mid]', 'illegal base64 data at input byte 4', '<secret contents redacted>'],
    ]);
    expect(JSON.stringify(errs)).not.toContain('hunter2');
    expect(validateObject('secrets', secret({ data: { wrapped: 'aGVs\nbG8=' } }))).toEqual([]);
  });

  it('all values together may hold at most 1 MiB (decoded for base64)', () => {
    const mib = 1024 * 1024;
    expect(validateObject('configmaps', cm({ data: { a: 'x'.repeat(mib) } }))).toEqual([]);
    expect(fieldsOf(validateObject('configmaps', cm({ data: { a: 'x'.repeat(mib - 1) }, binaryData: { b: b64('yy') } })))).toEqual([' FieldValueTooLong']);
    // 1 MiB decoded is about 1.33 MiB of base64: still fine.
    expect(validateObject('secrets', secret({ data: { a: Buffer.alloc(mib).toString('base64') } }))).toEqual([]);
    expect(fieldsOf(validateObject('secrets', secret({ data: { a: Buffer.alloc(mib).toString('base64'), b: b64('!') } })))).toEqual(['data FieldValueTooLong']);
  });

  it('Secret types require their keys (tls, dockerconfigjson, basic-auth, ssh-auth, service-account-token)', () => {
    expect(fieldsOf(validateObject('secrets', secret({ type: 'kubernetes.io/tls', data: { 'tls.crt': b64('c') } })))).toEqual(['data[tls.key] FieldValueRequired']);
    expect(fieldsOf(validateObject('secrets', secret({ type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64('not json') } })))).toEqual(['data[.dockerconfigjson] FieldValueInvalid']);
    expect(validateObject('secrets', secret({ type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64('{"auths":{}}') } }))).toEqual([]);
    expect(fieldsOf(validateObject('secrets', secret({ type: 'kubernetes.io/basic-auth', data: {} })))).toEqual(['data[username] FieldValueRequired', 'data[password] FieldValueRequired']);
    expect(fieldsOf(validateObject('secrets', secret({ type: 'kubernetes.io/ssh-auth', data: { 'ssh-privatekey': '' } })))).toEqual(['data[ssh-privatekey] FieldValueRequired']);
    expect(fieldsOf(validateObject('secrets', secret({ type: 'kubernetes.io/service-account-token' })))).toEqual([
      'metadata.annotations[kubernetes.io/service-account.name] FieldValueRequired',
    ]);
    expect(validateObject('secrets', secret({ type: 'example.com/custom', data: {} }))).toEqual([]);
  });

  it('stringData is folded into data (base64, overriding data) and never kept; type defaults to Opaque', () => {
    const out = defaultObject('secrets', secret({ data: { p: b64('old'), q: b64('kept') }, stringData: { p: 'hunter2', u: 'admin' } }));
    expect(out).toEqual(secret({ type: 'Opaque', data: { p: b64('hunter2'), q: b64('kept'), u: b64('admin') } }));
    expect(validateObject('secrets', defaultObject('secrets', secret({ stringData: { '..bad': 'x' } })))).toEqual([expect.objectContaining({ field: 'data[..bad]' })]);
    expect(fieldsOf(validateObject('secrets', defaultObject('secrets', secret({ stringData: 'nope' }))))).toEqual(['stringData FieldValueInvalid']);
  });

  it('immutable: data and the flag itself cannot change; the type of a Secret never can', () => {
    const old = cm({ immutable: true, data: { a: '1' } });
    expect(validateObject('configmaps', cm({ immutable: true, data: { a: '1' }, metadata: { name: 'cfg', namespace: 'default', labels: { x: 'y' } } }), old)).toEqual([]);
    expect(fieldsOf(validateObject('configmaps', cm({ immutable: true, data: { a: '2' } }), old))).toEqual(['data FieldValueForbidden']);
    expect(fieldsOf(validateObject('configmaps', cm({ data: { a: '1' } }), old))).toEqual(['immutable FieldValueForbidden']);
    expect(validateObject('configmaps', cm({ immutable: true, data: { a: '2' } }), cm({ data: { a: '1' } }))).toEqual([]);
    const s = secret({ type: 'Opaque', immutable: true, data: { p: b64('x') } });
    expect(fieldsOf(validateObject('secrets', secret({ type: 'Opaque', immutable: true, data: { p: b64('y') } }), s))).toEqual(['data FieldValueForbidden']);
    expect(fieldsOf(validateObject('secrets', secret({ type: 'kubernetes.io/tls', data: { 'tls.crt': '', 'tls.key': '' } }), secret({ type: 'Opaque' })))).toEqual(['type FieldValueInvalid']);
  });
});

describe('validateObject: pod tolerations', () => {
  const withTolerations = (tolerations: unknown) => {
    const p = goodPod();
    (p.spec as unknown as { tolerations: unknown }).tolerations = tolerations;
    return validateObject('pods', p).map((e) => e.field);
  };

  it('accepts upstream-valid tolerations, empty operator and effect included', () => {
    expect(withTolerations([
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' },
      { key: 'dedicated', value: 'gpu', operator: '', effect: '' },
      { operator: 'Exists' },
    ])).toEqual([]);
  });

  it('rejects what is not a list of tolerations, field by field (never a 500 downstream)', () => {
    expect(withTolerations('all')).toEqual(['spec.tolerations']);
    expect(withTolerations({ key: 'a' })).toEqual(['spec.tolerations']);
    expect(withTolerations([7])).toEqual(['spec.tolerations[0]']);
    expect(withTolerations([{ key: 'a', operator: 'Sometimes' }])).toEqual(['spec.tolerations[0].operator']);
    expect(withTolerations([{ key: 'a', operator: 'Exists', value: 'x' }])).toEqual(['spec.tolerations[0].operator']);
    expect(withTolerations([{ operator: 'Equal', value: 'x' }])).toEqual(['spec.tolerations[0].operator']);
    expect(withTolerations([{ key: 'a', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 5 }])).toEqual(['spec.tolerations[0].effect']);
    expect(withTolerations([{ key: 'a', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 1.5 }])).toEqual(['spec.tolerations[0].tolerationSeconds']);
    expect(withTolerations([{ key: 3, operator: 'Exists' }])).toEqual(['spec.tolerations[0].key']);
  });
});

describe('validateStatusUpdate (the /status subresource: metadata update and status rules only)', () => {
  it('accepts a status write of a pod whose stored spec today\'s rules refuse, as kube-apiserver does', () => {
    const old = goodPod();
    old.spec!.containers[0]!.name = 'Not_A_DNS_Label';
    expect(fieldsOf(validateObject('pods', old))).toContain('spec.containers[0].name FieldValueInvalid');
    const next: Pod = { ...structuredClone(old), status: { phase: 'Running', podIP: '10.1.0.2' } };
    expect(validateStatusUpdate('pods', next, old)).toEqual([]);
  });

  it('still refuses a bad status, and a metadata change the update rules forbid', () => {
    const old = goodPod();
    old.metadata.uid = 'u1';
    const badIP: Pod = { ...structuredClone(old), status: { podIP: '10.1.0.300' } };
    expect(fieldsOf(validateStatusUpdate('pods', badIP, old))).toEqual(['status.podIP FieldValueInvalid']);
    const otherUid: Pod = structuredClone(old);
    otherUid.metadata.uid = 'u2';
    expect(fieldsOf(validateStatusUpdate('pods', otherUid, old))).toEqual(['metadata.uid FieldValueInvalid']);
  });

  it('holds workload counts non-negative (ValidateReplicaSetStatus)', () => {
    const old: KubeObject = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web', namespace: 'default' }, spec: {} };
    const next = { ...structuredClone(old), status: { replicas: 3, readyReplicas: -1 } } as KubeObject;
    expect(fieldsOf(validateStatusUpdate('replicasets', next, old))).toEqual(['status.readyReplicas FieldValueInvalid']);
    expect(validateStatusUpdate('replicasets', { ...next, status: { replicas: 3, readyReplicas: 2 } } as KubeObject, old)).toEqual([]);
  });
});

import { CORE_V1_KINDS, CORE_V1_MESSAGES, decodeEnvelope, decodeKubernetesProtobuf, decodeMessage, ProtobufError, readFields, type MessageDesc } from '../../src/protobuf/index.js';
import { CAPTURED } from './captured.js';

const body = (name: keyof typeof CAPTURED) => Buffer.from(CAPTURED[name], 'base64');

// A minimal encoder, only to build wire shapes kubectl's bodies do not contain.
const varint = (v: bigint): number[] => {
  const out: number[] = [];
  let x = BigInt.asUintN(64, v);
  do {
    const b = Number(x & 0x7fn);
    x >>= 7n;
    out.push(x === 0n ? b : b | 0x80);
  } while (x !== 0n);
  return out;
};
const key = (num: number, wire: number) => varint(BigInt((num << 3) | wire));
const vField = (num: number, v: bigint | number) => [...key(num, 0), ...varint(BigInt(v))];
const lField = (num: number, bytes: number[] | string) => {
  const b = typeof bytes === 'string' ? [...Buffer.from(bytes)] : bytes;
  return [...key(num, 2), ...varint(BigInt(b.length)), ...b];
};
const msg = (...fields: number[][]) => Uint8Array.from(fields.flat());

describe('kubectl 1.32 request bodies (captured)', () => {
  it('create namespace', () => {
    expect(decodeKubernetesProtobuf(body('createNamespace'))).toEqual({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'myns' }, spec: {}, status: {} });
  });

  it('create service clusterip: ports with an int targetPort, labels and selector maps', () => {
    expect(decodeKubernetesProtobuf(body('createServiceClusterIP'))).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: { ports: [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 }], selector: { app: 'web' }, type: 'ClusterIP' },
      status: { loadBalancer: {} },
    });
  });

  it('create service nodeport / loadbalancer / externalname', () => {
    const np = decodeKubernetesProtobuf(body('createServiceNodePort'));
    expect(np.spec).toEqual({ ports: [{ name: '81-8081', protocol: 'TCP', port: 81, targetPort: 8081, nodePort: 30080 }], selector: { app: 'np' }, type: 'NodePort' });
    expect(decodeKubernetesProtobuf(body('createServiceLoadBalancer')).spec).toMatchObject({ type: 'LoadBalancer', ports: [{ port: 82, targetPort: 8082 }] });
    const ext = decodeKubernetesProtobuf(body('createServiceExternalName'));
    expect(ext.spec).toMatchObject({ type: 'ExternalName', externalName: 'example.com', ports: [{ name: '83-8083', port: 83, targetPort: 8083 }] });
    expect(ext.spec).not.toHaveProperty('clusterIP');
  });

  it('a Pod (debug --copy-to): containers with command/args/ports/env/resources, pointer fields kept when false', () => {
    expect(decodeKubernetesProtobuf(body('debugCopyPod'))).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'dst', namespace: 'default', annotations: { note: 'hi' } },
      spec: {
        containers: [
          {
            name: 'c',
            image: 'busybox:1.36',
            command: ['sh', '-c'],
            args: ['echo hi', 'x'],
            workingDir: '/w',
            ports: [{ name: 'http', hostPort: 18080, containerPort: 8080, protocol: 'UDP', hostIP: '1.2.3.4' }],
            env: [{ name: 'A', value: 'b' }, { name: 'EMPTY' }],
            resources: { limits: { cpu: '200m', memory: '64Mi' }, requests: { cpu: '100m' } },
            terminationMessagePath: '/dev/tl',
            imagePullPolicy: 'IfNotPresent',
            stdin: true,
            stdinOnce: true,
            tty: true,
            terminationMessagePolicy: 'File',
          },
          { name: 'dbg', image: 'alpine:3', command: ['sleep', '1'], env: [{ name: 'X', value: 'y' }], resources: {}, terminationMessagePolicy: 'File' },
        ],
        restartPolicy: 'OnFailure',
        terminationGracePeriodSeconds: 7,
        activeDeadlineSeconds: 99,
        dnsPolicy: 'Default',
        nodeSelector: { disk: 'ssd' },
        serviceAccountName: 'sa1',
        hostNetwork: true,
        hostname: 'hn',
        subdomain: 'sd',
        schedulerName: 'sch',
        priority: 5,
        enableServiceLinks: false,
      },
      status: {},
    });
  });

  it('create configmap / secret generic / serviceaccount: string and bytes maps, an empty Secret type', () => {
    expect(decodeKubernetesProtobuf(body('createConfigMap'))).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { a: 'b' } });
    // Secret data is map<string, bytes>: base64 on the JSON path; type "" is left for defaulting (Opaque).
    expect(decodeKubernetesProtobuf(body('createSecretGeneric'))).toEqual({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { p: Buffer.from('hunter2').toString('base64') } });
    const docker = JSON.stringify({ auths: { 'registry.test': { username: 'u', password: 'p', auth: 'dTpw' } } });
    expect(decodeKubernetesProtobuf(body('createSecretDockerRegistry'))).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'reg' },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from(docker).toString('base64') },
    });
    expect(decodeKubernetesProtobuf(body('createServiceAccount'))).toEqual({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa1', namespace: 'kube-system' } });
  });

  it('an apps/v1 Deployment (create deployment --replicas --port) decodes with its DeploymentSpec', () => {
    const d = decodeKubernetesProtobuf(body('createDeployment')) as {
      apiVersion: string;
      kind: string;
      metadata: { name: string; labels: Record<string, string> };
      spec: { replicas: number; selector: unknown; strategy: unknown; template: { metadata: { labels: Record<string, string> }; spec: { containers: { name: string; image: string; ports: unknown[] }[] } } };
    };
    expect([d.apiVersion, d.kind, d.metadata.name, d.spec.replicas]).toEqual(['apps/v1', 'Deployment', 'web', 3]);
    expect(d.metadata.labels).toEqual({ app: 'web' });
    expect(d.spec.selector).toEqual({ matchLabels: { app: 'web' } });
    expect(d.spec.template.metadata.labels).toEqual({ app: 'web' });
    expect(d.spec.template.spec.containers).toMatchObject([{ name: 'a', image: 'registry.local/a:1', ports: [{ containerPort: 80 }] }]);
  });

  it('a batch/v1 Job (create job --from=cronjob) decodes with its JobSpec', () => {
    const job = decodeKubernetesProtobuf(body('createJobFromCronJob')) as { apiVersion: string; kind: string; metadata: { name: string }; spec: { template: { spec: { restartPolicy: string } } } };
    expect([job.apiVersion, job.kind, job.metadata.name]).toEqual(['batch/v1', 'Job', 'jj']);
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
  });
});

describe('envelope', () => {
  it('reads typeMeta and raw, and refuses a body without the magic or kind', () => {
    const env = decodeEnvelope(body('createNamespace'));
    expect(env).toMatchObject({ apiVersion: 'v1', kind: 'Namespace', contentEncoding: '', contentType: '' });
    expect(env.raw.length).toBe(28);
    expect(() => decodeEnvelope(Buffer.from('{"kind":"Namespace"}'))).toThrow('does not start with the Kubernetes protobuf magic');
    expect(() => decodeEnvelope(Uint8Array.from([0x6b, 0x38, 0x73, 0x00, ...lField(2, [])]))).toThrow('names no kind');
    expect(() => decodeEnvelope(Uint8Array.from([0x6b, 0x38, 0x73, 0x00, ...lField(1, [...lField(1, 'v1'), ...lField(2, 'Pod')])]))).toThrow('the envelope for Pod carries no object');
  });

  it('every truncation of a real body is a ProtobufError, never a crash or a silent partial object', () => {
    const full = body('createServiceNodePort');
    for (let n = 5; n < full.length - 4; n++) {
      // The last fields (contentEncoding/contentType, both empty) may be cut cleanly; everything before must not.
      let result: unknown;
      try {
        result = decodeKubernetesProtobuf(full.subarray(0, n));
      } catch (e) {
        expect(e).toBeInstanceOf(ProtobufError);
        continue;
      }
      throw new Error(`truncated at ${n} of ${full.length} bytes decoded to ${JSON.stringify(result)}`);
    }
  });
});

describe('wire decoding', () => {
  const Desc: MessageDesc = {
    name: 'T',
    fields: {
      1: { name: 'n32', type: 'int32' },
      2: { name: 'n64', type: 'int64' },
      3: { name: 'list', type: 'int32', repeated: true },
      4: { name: 's', type: 'string' },
      5: { name: 'port', type: 'intOrString' },
      6: { name: 'at', type: 'time' },
      7: { name: 'flag', type: 'bool', keepZero: true },
      8: { name: 'zero', type: 'int32', keepZero: true },
    },
  };

  it('multi-byte and negative varints, packed and unpacked repeated numbers, string IntOrString, Time', () => {
    const buf = msg(
      vField(1, -5n),
      vField(2, 1_700_000_000_123n),
      vField(3, 1),
      lField(3, [...varint(300n), ...varint(2n)]),
      lField(4, 'héllo'),
      lField(5, [...vField(1, 1), ...lField(3, 'http')]),
      lField(6, [...vField(1, 1_767_323_045n)]),
      vField(7, 0),
      vField(8, 0),
    );
    expect(decodeMessage(buf, Desc)).toEqual({ n32: -5, n64: 1_700_000_000_123, list: [1, 300, 2], s: 'héllo', port: 'http', at: '2026-01-02T03:04:05Z', flag: false, zero: 0 });
  });

  it('skips unknown fields of every wire type and leaves zero values out', () => {
    const fixed64 = [...key(20, 1), 1, 2, 3, 4, 5, 6, 7, 8];
    const fixed32 = [...key(21, 5), 1, 2, 3, 4];
    const buf = msg(fixed64, vField(22, 99), lField(23, 'ignored'), fixed32, vField(1, 0), lField(4, ''), lField(6, []));
    expect(decodeMessage(buf, Desc)).toEqual({});
    expect(readFields(buf).map((f) => [f.num, f.wire])).toEqual([[20, 1], [22, 0], [23, 2], [21, 5], [1, 0], [4, 2], [6, 2]]);
  });

  it('malformed input names the problem', () => {
    expect(() => readFields(Uint8Array.from([0x08, 0x80]))).toThrow('truncated varint at byte 2');
    expect(() => readFields(Uint8Array.from([0x0b]))).toThrow('unsupported wire type 3 for field 1 at byte 0');
    expect(() => readFields(Uint8Array.from(lField(4, 'abc')).subarray(0, 3))).toThrow('truncated field 4 at byte 0: it claims 3 bytes, 1 left');
    expect(() => decodeMessage(msg(vField(4, 1)), Desc)).toThrow('T.s: expected a length-delimited string, got wire type 0');
    expect(() => decodeMessage(msg(lField(4, [0xff, 0xfe])), Desc)).toThrow('T.s: is not valid UTF-8');
    expect(() => decodeMessage(msg(lField(6, vField(1, 1n << 40n))), Desc)).toThrow('T.at: time 1099511627776s is outside years 1..9999');
  });

  it('serves Namespace, Service, Pod, ConfigMap, Secret and ServiceAccount of v1', () => {
    expect(Object.keys(CORE_V1_KINDS).sort()).toEqual(['v1/ConfigMap', 'v1/Namespace', 'v1/Pod', 'v1/Secret', 'v1/Service', 'v1/ServiceAccount']);
  });
});

describe('ObjectMeta and PodSpec inside another kind (captured create job --from=cronjob)', () => {
  // A test-only wrapper reaches the core/v1 messages a Job embeds (JobSpec.template = 6).
  const { ObjectMeta, PodSpec } = CORE_V1_MESSAGES;
  const Job: MessageDesc = {
    name: 'Job',
    fields: {
      1: { name: 'metadata', type: ObjectMeta },
      2: { name: 'spec', type: { name: 'JobSpec', fields: { 6: { name: 'template', type: { name: 'PodTemplateSpec', fields: { 1: { name: 'metadata', type: ObjectMeta }, 2: { name: 'spec', type: PodSpec } } } } } } },
    },
  };

  it('ownerReferences, valueFrom, volumeMounts, initContainers, tolerations and pointer fields', () => {
    const env = decodeEnvelope(body('createJobFromCronJob'));
    expect([env.apiVersion, env.kind]).toEqual(['batch/v1', 'Job']);
    expect(decodeMessage(env.raw, Job)).toEqual({
      metadata: {
        name: 'jj',
        labels: { jl: '1' },
        annotations: { 'cronjob.kubernetes.io/instantiate': 'manual', ja: '2' },
        ownerReferences: [{ kind: 'CronJob', name: 'cj', uid: 'cj-uid-42', apiVersion: 'batch/v1', controller: true }],
      },
      spec: {
        template: {
          metadata: { labels: { pl: '3' } },
          spec: {
            containers: [
              {
                name: 'c',
                image: 'busybox',
                env: [
                  { name: 'F', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
                  { name: 'CM', valueFrom: { configMapKeyRef: { name: 'cm1', key: 'k1', optional: true } } },
                  { name: 'SK', valueFrom: { secretKeyRef: { name: 's1', key: 'k2' } } },
                ],
                resources: {},
                volumeMounts: [{ name: 'v', readOnly: true, mountPath: '/data', subPath: 'sub' }],
              },
            ],
            restartPolicy: 'Never',
            serviceAccount: 'sa2',
            hostPID: true,
            hostIPC: true,
            initContainers: [{ name: 'init', image: 'alpine:3', command: ['true'], resources: {} }],
            automountServiceAccountToken: false,
            tolerations: [{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoExecute', tolerationSeconds: 30 }],
            priorityClassName: 'pc',
            runtimeClassName: 'rc',
            preemptionPolicy: 'Never',
          },
        },
      },
    });
  });

});

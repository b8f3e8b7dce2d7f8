import { createHash } from 'node:crypto';
import {
  DEFINITIONS,
  dropUnknownFields,
  openApiV3Document,
  openApiV3Index,
  parseFieldValidation,
  resolveOpenApiV3,
  unknownFields,
  validateFields,
  warningHeader,
} from '../../src/openapi/index.js';
import { RESOURCES } from '../../src/resources.js';

type Json = Record<string, any>;

const doc = (key: string): Json => {
  const d = openApiV3Document(key);
  if (!d) throw new Error(`no document ${key}`);
  return d as Json;
};

/**
 * What kubectl's query-parameter verifier (cli-runtime query_param_verifier_v3.go)
 * checks: a PATCH operation tagged with the kind's GVK that lists fieldValidation.
 * Stricter than kubectl: every such operation must list it, since kubectl
 * stops at whichever it meets first.
 */
function supportsFieldValidation(d: Json, gvk: { group: string; version: string; kind: string }): boolean {
  let found = false;
  for (const item of Object.values(d.paths as Json)) {
    const op = (item as Json).patch;
    if (!op) continue;
    const g = op['x-kubernetes-group-version-kind'];
    if (g?.group !== gvk.group || g?.version !== gvk.version || g?.kind !== gvk.kind) continue;
    const params = [...((item as Json).parameters ?? []), ...(op.parameters ?? [])];
    if (!params.some((p: Json) => p.name === 'fieldValidation' && p.in === 'query')) return false;
    found = true;
  }
  return found;
}

function refsIn(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => refsIn(x, out));
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref' && typeof x === 'string') out.push(x);
      else refsIn(x, out);
    }
  }
  return out;
}

describe('/openapi/v3 index', () => {
  it('lists every served group version with a content hash', () => {
    const index = openApiV3Index();
    expect(Object.keys(index.paths).sort()).toEqual(['api/v1', 'apis/apps/v1', 'apis/authorization.k8s.io/v1', 'apis/batch/v1', 'apis/coordination.k8s.io/v1', 'apis/discovery.k8s.io/v1', 'apis/policy/v1', 'apis/rbac.authorization.k8s.io/v1']);
    for (const [key, entry] of Object.entries(index.paths)) {
      const hash = createHash('sha512').update(JSON.stringify(openApiV3Document(key))).digest('hex').toUpperCase();
      expect(entry.serverRelativeURL).toBe(`/openapi/v3/${key}?hash=${hash}`);
    }
  });

  it('resolves request paths: index, documents, 404', () => {
    expect(resolveOpenApiV3('/openapi/v3')?.body).toEqual(openApiV3Index());
    const url = new URL(openApiV3Index().paths['api/v1']?.serverRelativeURL ?? '', 'http://x');
    const r = resolveOpenApiV3(url.pathname, url.searchParams.get('hash'));
    expect(r?.body).toBe(openApiV3Document('api/v1'));
    expect(r?.immutable).toBe(true);
    expect(r?.etag).toBe(`"${url.searchParams.get('hash')}"`);
    expect(resolveOpenApiV3('/openapi/v3/api/v1', 'stale')?.immutable).toBe(false);
    expect(resolveOpenApiV3('/openapi/v3/apis/extensions/v1beta1')).toBeUndefined();
    expect(resolveOpenApiV3('/openapi/v2')).toBeUndefined();
  });
});

describe('group-version documents', () => {
  it.each(RESOURCES.map((r) => [r.kind, r] as const))('%s: kubectl finds a PATCH operation accepting fieldValidation', (_kind, r) => {
    const key = r.group === '' ? `api/${r.version}` : `apis/${r.group}/${r.version}`;
    expect(supportsFieldValidation(doc(key), { group: r.group, version: r.version, kind: r.kind })).toBe(true);
  });

  it('rc/scale is served as autoscaling/v1 Scale in api/v1', () => {
    const d = doc('api/v1');
    const scale = d.paths['/api/v1/namespaces/{namespace}/replicationcontrollers/{name}/scale'];
    expect(scale.patch['x-kubernetes-group-version-kind']).toEqual({ group: 'autoscaling', version: 'v1', kind: 'Scale' });
    expect(d.components.schemas['io.k8s.api.autoscaling.v1.Scale']['x-kubernetes-group-version-kind']).toEqual([
      { group: 'autoscaling', version: 'v1', kind: 'Scale' },
    ]);
  });

  it('never offers strategic-merge-patch bodies, so kubectl computes apply patches from its built-in types', () => {
    for (const key of Object.keys(openApiV3Index().paths)) {
      for (const item of Object.values(doc(key).paths as Json)) {
        const content = (item as Json).patch?.requestBody?.content ?? {};
        expect(Object.keys(content)).not.toContain('application/strategic-merge-patch+json');
        if ((item as Json).patch) expect(Object.keys(content)).toContain('application/merge-patch+json');
      }
    }
  });

  it('every $ref resolves inside the same document', () => {
    for (const key of Object.keys(openApiV3Index().paths)) {
      const d = doc(key);
      const names = new Set(Object.keys(d.components.schemas).map((n) => `#/components/schemas/${n}`));
      const missing = refsIn(d).filter((r) => !names.has(r));
      expect(missing).toEqual([]);
    }
  });

  it('the Pod schema carries the GVK and the merge keys strategic merge patch uses', () => {
    const s = doc('api/v1').components.schemas;
    expect(s['io.k8s.api.core.v1.Pod']['x-kubernetes-group-version-kind']).toEqual([{ group: '', version: 'v1', kind: 'Pod' }]);
    const spec = s['io.k8s.api.core.v1.PodSpec'].properties;
    expect(spec.containers).toMatchObject({ type: 'array', 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge' });
    expect(spec.containers.items.allOf[0].$ref).toBe('#/components/schemas/io.k8s.api.core.v1.Container');
    expect(spec.volumes).toMatchObject({ 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge,retainKeys' });
    expect(spec.tolerations['x-kubernetes-patch-strategy']).toBeUndefined();
    const container = s['io.k8s.api.core.v1.Container'];
    expect(container.required).toEqual(['name']);
    expect(container.properties.ports['x-kubernetes-patch-merge-key']).toBe('containerPort');
    expect(container.properties.env['x-kubernetes-patch-merge-key']).toBe('name');
    expect(container.properties.volumeMounts['x-kubernetes-patch-merge-key']).toBe('mountPath');
    expect(s['io.k8s.api.core.v1.ServiceSpec'].properties.ports['x-kubernetes-patch-merge-key']).toBe('port');
    expect(s['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'].properties.finalizers).toMatchObject({
      'x-kubernetes-patch-strategy': 'merge',
      'x-kubernetes-list-type': 'set',
    });
    expect(s['io.k8s.api.core.v1.ServicePort'].properties.targetPort.allOf[0].$ref).toBe(
      '#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString',
    );
    expect(s['io.k8s.api.core.v1.PodList']['x-kubernetes-group-version-kind']).toEqual([{ group: '', version: 'v1', kind: 'PodList' }]);
  });

  it('patch metadata in the documents is exactly the schema table (one source of truth)', () => {
    const fromDocs = new Map<string, string>();
    for (const key of Object.keys(openApiV3Index().paths)) {
      for (const [name, schema] of Object.entries(doc(key).components.schemas as Json)) {
        for (const [field, f] of Object.entries((schema as Json).properties ?? {})) {
          const ff = f as Json;
          if (ff['x-kubernetes-patch-strategy']) fromDocs.set(`${name}.${field}`, `${ff['x-kubernetes-patch-strategy']}/${ff['x-kubernetes-patch-merge-key'] ?? ''}`);
        }
      }
    }
    const fromTable = new Map<string, string>();
    for (const [name, def] of Object.entries(DEFINITIONS)) {
      for (const [field, f] of Object.entries(def.properties)) {
        if (f.type === 'array' && f.patchStrategy) fromTable.set(`${name}.${field}`, `${f.patchStrategy}/${f.mergeKey ?? ''}`);
      }
    }
    expect(Object.fromEntries(fromDocs)).toEqual(Object.fromEntries(fromTable));
  });

  it('discovery.k8s.io and coordination.k8s.io documents hold their kinds only', () => {
    const slices = doc('apis/discovery.k8s.io/v1');
    expect(Object.keys(slices.paths)).toContain('/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices/{name}');
    expect(slices.components.schemas['io.k8s.api.core.v1.Pod']).toBeUndefined();
    expect(slices.components.schemas['io.k8s.api.discovery.v1.EndpointSlice'].required).toEqual(['addressType', 'endpoints']);
    const leases = doc('apis/coordination.k8s.io/v1');
    expect(leases.components.schemas['io.k8s.api.coordination.v1.LeaseSpec'].properties.renewTime.allOf[0].$ref).toBe(
      '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime',
    );
  });
});

describe('unknownFields (server-side fieldValidation)', () => {
  const goodPod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', labels: { app: 'web' }, annotations: { 'a/b': 'c' } },
    spec: {
      containers: [
        {
          name: 'web',
          image: 'nginx',
          command: ['nginx'],
          ports: [{ containerPort: 80, name: 'http', protocol: 'TCP' }],
          env: [{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
          resources: { limits: { cpu: '100m', memory: '64Mi' }, requests: { cpu: 0.1 } },
          readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 5 },
          securityContext: { capabilities: { add: ['NET_ADMIN'] }, anythingGoes: true },
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
        },
      ],
      volumes: [{ name: 'data', emptyDir: {} }, { name: 'cfg', configMap: { name: 'cfg' } }, { name: 'p', persistentVolumeClaim: { claimName: 'x' } }],
      affinity: { nodeAffinity: {} },
      tolerations: [{ key: 'k', operator: 'Exists' }],
    },
  };

  it('accepts a realistic Pod manifest, including free-form parts', () => {
    expect(unknownFields('pods', goodPod)).toEqual([]);
  });

  it('names every unknown field with its path', () => {
    const bad = structuredClone(goodPod) as Json;
    bad.metadata.lables = { app: 'x' };
    bad.spec.containers[0].imagePullPolcy = 'Always';
    bad.spec.containers[0].ports[0].contanerPort = 81;
    bad.spec.volumes[0].emptyDirr = {};
    bad.extra = 1;
    expect(unknownFields('pods', bad)).toEqual([
      'metadata.lables',
      'spec.containers[0].ports[0].contanerPort',
      'spec.containers[0].imagePullPolcy',
      'spec.volumes[0].emptyDirr',
      'extra',
    ]);
  });

  it('walks RC templates, services, nodes, events, slices, leases and rc/scale', () => {
    expect(unknownFields('rc', { metadata: { name: 'r' }, spec: { replicas: 1, template: { metadata: { labels: {} }, spec: { containers: [{ name: 'a', imagee: 'x' }] } } } })).toEqual([
      'spec.template.spec.containers[0].imagee',
    ]);
    expect(unknownFields('svc', { spec: { type: 'NodePort', ports: [{ port: 80, targetPort: 'http', nodeport: 30000 }], selector: { app: 'a' } } })).toEqual([
      'spec.ports[0].nodeport',
    ]);
    expect(unknownFields('nodes', { status: { addresses: [{ type: 'InternalIP', address: '1.2.3.4' }], nodeInfo: { kubeletVersion: 'v1', gpu: 1 } } })).toEqual([
      'status.nodeInfo.gpu',
    ]);
    expect(unknownFields('events', { involvedObject: { kind: 'Pod', name: 'p' }, eventTime: '2026-01-02T15:04:05.000000Z', sevrity: 'x' })).toEqual(['sevrity']);
    expect(unknownFields('endpointslices', { addressType: 'IPv4', endpoints: [{ addresses: ['10.1.5.7'], conditions: { ready: true, up: 1 } }] })).toEqual([
      'endpoints[0].conditions.up',
    ]);
    expect(unknownFields('leases', { spec: { holderIdentity: 'h1', renewTime: '2026-01-02T15:04:05.000000Z', ttl: 4 } })).toEqual(['spec.ttl']);
    expect(unknownFields('replicationcontrollers/scale', { kind: 'Scale', spec: { replicas: 3, max: 4 } })).toEqual(['spec.max']);
  });

  it('refuses a resource it has no schema for', () => {
    expect(() => unknownFields('widgets', {})).toThrow('no schema for resource widgets');
  });

  it('dropUnknownFields removes exactly the unknown fields and leaves the input alone', () => {
    const bad = structuredClone(goodPod) as Json;
    bad.spec.containers[0].imagee = 'x';
    const clean = dropUnknownFields('pods', bad);
    expect(clean).toEqual(goodPod);
    expect(bad.spec.containers[0].imagee).toBe('x');
  });
});

describe('validateFields', () => {
  const body = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x', imagee: 'y' }], foo: 1 } };

  it('Strict answers 400 with the message kubectl prints', () => {
    const r = validateFields('pods', body, 'Strict');
    expect(r.error).toMatchObject({
      kind: 'Status',
      code: 400,
      reason: 'BadRequest',
      message: 'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[0].imagee", unknown field "spec.foo"',
    });
  });

  it('Strict passes a clean object through', () => {
    const clean = { metadata: { name: 'p' }, spec: { containers: [{ name: 'c' }] } };
    expect(validateFields('pods', clean, 'Strict')).toEqual({ warnings: [], object: clean });
  });

  it('Warn drops the fields and returns one warning each', () => {
    const r = validateFields('pods', body, 'Warn');
    expect(r.error).toBeUndefined();
    expect(r.warnings).toEqual(['unknown field "spec.containers[0].imagee"', 'unknown field "spec.foo"']);
    expect(r.object).toEqual({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x' }] } });
  });

  it('Ignore drops them silently', () => {
    const r = validateFields('pods', body, 'Ignore');
    expect(r.warnings).toEqual([]);
    expect((r.object as Json).spec.foo).toBeUndefined();
  });

  it('discovery kinds name their version only', () => {
    expect(validateFields('endpointslices', { addressType: 'IPv4', endpoints: [], x: 1 }, 'Strict').error?.message).toBe(
      'EndpointSlice in version "v1" cannot be handled as a EndpointSlice: strict decoding error: unknown field "x"',
    );
  });

  it('parses the directive and formats Warning headers', () => {
    expect(parseFieldValidation(undefined)).toBe('Warn');
    expect(parseFieldValidation('Strict')).toBe('Strict');
    expect(() => parseFieldValidation('strict')).toThrow('fieldValidation: Unsupported value: "strict": supported values: "Ignore", "Strict", "Warn"');
    expect(warningHeader('unknown field "spec.foo"')).toBe('299 - "unknown field \\"spec.foo\\""');
  });
});

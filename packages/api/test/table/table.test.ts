import { humanDuration, parseIncludeObject, parseTableAccept, podStatusCells, tableColumns, TableWatchConverter, toTable, watchEventToTable } from '../../src/table/index.js';
import type { KubeObject, Pod } from '../../src/types.js';

const NOW = new Date('2026-01-02T15:00:00Z');
/** A timestamp `s` seconds before NOW. */
const ago = (s: number): string => new Date(NOW.getTime() - s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const names = (t: { columnDefinitions: { name: string }[] | null }): string[] => (t.columnDefinitions ?? []).map((c) => c.name);

describe('humanDuration (kubectl AGE)', () => {
  it.each([
    [-5_000, '<invalid>'],
    [-1_500, '0s'],
    [0, '0s'],
    [5_000, '5s'],
    [119_000, '119s'],
    [120_000, '2m'],
    [182_000, '3m2s'],
    [600_000, '10m'],
    [179 * 60_000, '179m'],
    [4 * 3600_000, '4h'],
    [(7 * 60 + 5) * 60_000, '7h5m'],
    [30 * 3600_000, '30h'],
    [51 * 3600_000, '2d3h'],
    [72 * 3600_000, '3d'],
    [30 * 86400_000, '30d'],
    [(2 * 365 + 40) * 86400_000, '2y40d'],
    [9 * 365 * 86400_000, '9y'],
  ])('%d ms → %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});

function pod(over: Partial<Pod> & { name?: string } = {}): Pod {
  const { name = 'web-1', ...rest } = over;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: 'u-1', resourceVersion: '7', labels: { app: 'web' }, creationTimestamp: ago(300) },
    spec: { containers: [{ name: 'c', image: 'nginx' }], nodeName: 'h1' },
    status: {
      phase: 'Running',
      podIP: '10.1.5.7',
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [{ name: 'c', ready: true, restartCount: 0, image: 'nginx', imageID: '', state: { running: { startedAt: ago(200) } } }],
    },
    ...rest,
  };
}

describe('pods table', () => {
  it('has kubectl columns and a wide set with priority 1', () => {
    const t = toTable('pods', [pod()], { now: NOW, resourceVersion: '104' });
    expect(t.kind).toBe('Table');
    expect(t.apiVersion).toBe('meta.k8s.io/v1');
    expect(t.metadata).toEqual({ resourceVersion: '104' });
    expect(names(t)).toEqual(['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node', 'Nominated Node', 'Readiness Gates']);
    expect(t.columnDefinitions?.map((c) => c.priority)).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1]);
    expect(t.columnDefinitions?.[0]).toMatchObject({ name: 'Name', type: 'string', format: 'name' });
    expect(t.rows[0]?.cells).toEqual(['web-1', '1/1', 'Running', '0', '5m', '10.1.5.7', 'h1', '<none>', '<none>']);
  });

  it('without wide keeps only priority 0 columns and cells', () => {
    const t = toTable('po', [pod()], { now: NOW, wide: false });
    expect(names(t)).toEqual(['Name', 'Ready', 'Status', 'Restarts', 'Age']);
    expect(t.rows[0]?.cells).toEqual(['web-1', '1/1', 'Running', '0', '5m']);
  });

  it('rows carry PartialObjectMetadata by default, the object with Object, nothing with None', () => {
    const p = pod();
    expect(toTable('pods', [p], { now: NOW }).rows[0]?.object).toEqual({
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: p.metadata,
    });
    expect(toTable('pods', [p], { now: NOW, includeObject: 'Object' }).rows[0]?.object).toEqual(p);
    expect(toTable('pods', [p], { now: NOW, includeObject: 'None' }).rows[0]).not.toHaveProperty('object');
  });

  const cs = (state: object, extra: object = {}) => ({ name: 'c', ready: false, restartCount: 0, image: 'x', imageID: '', state, ...extra });
  it.each<[string, Partial<Pod>, Partial<ReturnType<typeof podStatusCells>>]>([
    ['pending without status', { status: { phase: 'Pending' } }, { ready: '0/1', status: 'Pending', restarts: '0' }],
    ['container creating', { status: { phase: 'Pending', containerStatuses: [cs({ waiting: { reason: 'ContainerCreating' } })] } }, { status: 'ContainerCreating' }],
    [
      'crash loop with restarts and the last restart age',
      {
        status: {
          phase: 'Running',
          containerStatuses: [cs({ waiting: { reason: 'CrashLoopBackOff' } }, { restartCount: 4, lastState: { terminated: { exitCode: 1, finishedAt: ago(90) } } })],
        },
      },
      { ready: '0/1', status: 'CrashLoopBackOff', restarts: '4 (90s ago)' },
    ],
    ['completed', { status: { phase: 'Succeeded', containerStatuses: [cs({ terminated: { exitCode: 0, reason: 'Completed' } })] } }, { status: 'Completed' }],
    ['exit code without reason', { status: { phase: 'Failed', containerStatuses: [cs({ terminated: { exitCode: 2 } })] } }, { status: 'ExitCode:2' }],
    ['signal without reason', { status: { phase: 'Failed', containerStatuses: [cs({ terminated: { exitCode: 137, signal: 9 } })] } }, { status: 'Signal:9' }],
    ['status reason wins over phase', { status: { phase: 'Failed', reason: 'Evicted' } }, { status: 'Evicted' }],
    [
      'init container running',
      {
        spec: { initContainers: [{ name: 'i1' }, { name: 'i2' }], containers: [{ name: 'c' }] },
        status: { phase: 'Pending', initContainerStatuses: [{ ...cs({ terminated: { exitCode: 0 } }), name: 'i1' }, { ...cs({ running: {} }), name: 'i2' }] },
      },
      { status: 'Init:1/2' },
    ],
    [
      'init container failing',
      {
        spec: { initContainers: [{ name: 'i1' }], containers: [{ name: 'c' }] },
        status: { phase: 'Pending', initContainerStatuses: [{ ...cs({ waiting: { reason: 'CrashLoopBackOff' } }), name: 'i1' }] },
      },
      { status: 'Init:CrashLoopBackOff' },
    ],
    [
      'one of two containers ready',
      {
        spec: { containers: [{ name: 'a' }, { name: 'b' }] },
        status: {
          phase: 'Running',
          containerStatuses: [
            { ...cs({ running: {} }), name: 'a', ready: true },
            { ...cs({ running: {} }), name: 'b' },
          ],
        },
      },
      { ready: '1/2', status: 'Running' },
    ],
    [
      'a completed container beside a running one shows Running when the pod is ready',
      {
        spec: { containers: [{ name: 'a' }, { name: 'b' }] },
        status: {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'True' }],
          containerStatuses: [
            { ...cs({ terminated: { exitCode: 0, reason: 'Completed' } }), name: 'a' },
            { ...cs({ running: {} }), name: 'b', ready: true },
          ],
        },
      },
      { ready: '1/2', status: 'Running' },
    ],
    ['scheduling gated', { status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] } }, { status: 'SchedulingGated' }],
  ])('STATUS: %s', (_what, over, want) => {
    expect(podStatusCells(pod(over), NOW)).toMatchObject(want);
  });

  it('STATUS is Terminating once deletion started, unless the pod already finished', () => {
    const deleting = pod();
    deleting.metadata.deletionTimestamp = ago(1);
    expect(toTable('pods', [deleting], { now: NOW }).rows[0]?.cells[2]).toBe('Terminating');
    const done = pod({ status: { phase: 'Succeeded', containerStatuses: [cs({ terminated: { exitCode: 0, reason: 'Completed' } })] } });
    done.metadata.deletionTimestamp = ago(1);
    expect(toTable('pods', [done], { now: NOW }).rows[0]?.cells[2]).toBe('Completed');
  });

  it('finished pods carry the Completed row condition', () => {
    const t = toTable('pods', [pod({ status: { phase: 'Succeeded' } }), pod()], { now: NOW });
    expect(t.rows[0]?.conditions).toEqual([{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }]);
    expect(t.rows[1]).not.toHaveProperty('conditions');
  });

  it('wide cells: podIPs first, nominated node, readiness gates', () => {
    const p = pod({
      spec: { containers: [{ name: 'c' }], readinessGates: [{ conditionType: 'x/lb' }, { conditionType: 'x/dns' }] } as Pod['spec'],
      status: {
        phase: 'Pending',
        podIPs: [{ ip: '10.1.6.9' }],
        nominatedNodeName: 'h2',
        conditions: [{ type: 'x/lb', status: 'True' }, { type: 'x/dns', status: 'False' }],
      } as Pod['status'],
    });
    expect(toTable('pods', [p], { now: NOW }).rows[0]?.cells.slice(5)).toEqual(['10.1.6.9', '<none>', 'h2', '1/2']);
  });
});

describe('other kinds', () => {
  const meta = (name: string, extra: object = {}) => ({ name, namespace: 'default', creationTimestamp: ago(4 * 3600), ...extra });

  it('services: TYPE, CLUSTER-IP, EXTERNAL-IP, PORT(S), wide SELECTOR', () => {
    const objs: KubeObject[] = [
      { kind: 'Service', metadata: meta('web'), spec: { type: 'ClusterIP', clusterIP: '10.0.0.20', clusterIPs: ['10.0.0.20'], ports: [{ port: 80, protocol: 'TCP' }], selector: { tier: 'fe', app: 'web' } } },
      { kind: 'Service', metadata: meta('np'), spec: { type: 'NodePort', clusterIP: '10.0.0.21', ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] } },
      { kind: 'Service', metadata: meta('lb'), spec: { type: 'LoadBalancer', clusterIP: '10.0.0.22', externalIPs: ['192.0.2.10'], ports: [{ port: 80, nodePort: 31000, protocol: 'TCP' }] } },
      { kind: 'Service', metadata: meta('lb2'), spec: { type: 'LoadBalancer', clusterIP: '10.0.0.23', ports: [] } },
      { kind: 'Service', metadata: meta('ext'), spec: { type: 'ExternalName', externalName: 'example.com' } },
    ];
    const t = toTable('services', objs, { now: NOW });
    expect(names(t)).toEqual(['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', 'Selector']);
    expect(t.rows.map((r) => r.cells)).toEqual([
      ['web', 'ClusterIP', '10.0.0.20', '<none>', '80/TCP', '4h', 'app=web,tier=fe'],
      ['np', 'NodePort', '10.0.0.21', '<none>', '80:30080/TCP,53/UDP', '4h', '<none>'],
      ['lb', 'LoadBalancer', '10.0.0.22', '192.0.2.10', '80:31000/TCP', '4h', '<none>'],
      ['lb2', 'LoadBalancer', '10.0.0.23', '<pending>', '<none>', '4h', '<none>'],
      ['ext', 'ExternalName', '<none>', 'example.com', '<none>', '4h', '<none>'],
    ]);
  });

  it('replicationcontrollers: DESIRED CURRENT READY, wide CONTAINERS IMAGES SELECTOR', () => {
    const rc: KubeObject = {
      kind: 'ReplicationController',
      metadata: meta('rc1'),
      spec: { replicas: 3, selector: { app: 'rc1' }, template: { spec: { containers: [{ name: 'a', image: 'busybox:1.36' }, { name: 'b', image: 'nginx' }] } } },
      status: { replicas: 2, readyReplicas: 1 },
    };
    const t = toTable('rc', [rc], { now: NOW });
    expect(names(t)).toEqual(['Name', 'Desired', 'Current', 'Ready', 'Age', 'Containers', 'Images', 'Selector']);
    expect(t.columnDefinitions?.[1]?.type).toBe('integer');
    expect(t.rows[0]?.cells).toEqual(['rc1', 3, 2, 1, '4h', 'a,b', 'busybox:1.36,nginx', 'app=rc1']);
  });

  it('endpoints: the first three ip:port pairs then "+ N more..."', () => {
    const ep = (subsets: unknown): KubeObject => ({ kind: 'Endpoints', metadata: meta('web'), subsets });
    const t = toTable(
      'endpoints',
      [
        ep([{ addresses: [{ ip: '10.1.5.7' }, { ip: '10.1.6.7' }], ports: [{ port: 8080 }] }]),
        ep([{ addresses: [{ ip: '10.1.5.7' }, { ip: '10.1.6.7' }], ports: [{ port: 8080, name: 'a' }, { port: 9090, name: 'b' }] }]),
        ep([{ addresses: [{ ip: '10.1.5.7' }] }]),
        ep([]),
        ep([{ notReadyAddresses: [{ ip: '10.1.5.7' }], ports: [{ port: 80 }] }]),
      ],
      { now: NOW },
    );
    expect(names(t)).toEqual(['Name', 'Endpoints', 'Age']);
    expect(t.rows.map((r) => r.cells[1])).toEqual([
      '10.1.5.7:8080,10.1.6.7:8080',
      '10.1.5.7:8080,10.1.6.7:8080,10.1.5.7:9090 + 1 more...',
      '10.1.5.7',
      '<none>',
      '',
    ]);
  });

  it('endpointslices: ADDRESSTYPE PORTS ENDPOINTS', () => {
    const slice: KubeObject = {
      kind: 'EndpointSlice',
      metadata: meta('web-abc'),
      addressType: 'IPv4',
      ports: [{ port: 8080, name: 'http' }, { name: 'x' }],
      endpoints: [{ addresses: ['10.1.5.7'] }, { addresses: ['10.1.6.7'] }, { addresses: ['10.1.7.7'] }, { addresses: ['10.1.8.7'] }],
    };
    const empty: KubeObject = { kind: 'EndpointSlice', metadata: meta('e'), addressType: 'IPv4', endpoints: [] };
    const t = toTable('endpointslices', [slice, empty], { now: NOW });
    expect(names(t)).toEqual(['Name', 'AddressType', 'Ports', 'Endpoints', 'Age']);
    expect(t.rows.map((r) => r.cells)).toEqual([
      ['web-abc', 'IPv4', '8080,x', '10.1.5.7,10.1.6.7,10.1.7.7 + 1 more...', '4h'],
      ['e', 'IPv4', '<unset>', '<unset>', '4h'],
    ]);
  });

  it('nodes: STATUS ROLES VERSION, wide addresses and node info', () => {
    const node: KubeObject = {
      kind: 'Node',
      metadata: meta('h1', { namespace: undefined, labels: { 'node-role.kubernetes.io/control-plane': '', 'node-role.kubernetes.io/worker': '' } }),
      spec: { unschedulable: true },
      status: {
        conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'True' }],
        addresses: [{ type: 'InternalIP', address: '172.30.0.11' }, { type: 'Hostname', address: 'h1' }],
        nodeInfo: { kubeletVersion: 'v1.32.0-pilot', osImage: 'Debian GNU/Linux 12 (bookworm)', kernelVersion: '6.1.0', containerRuntimeVersion: 'docker://20.10.24' },
      },
    };
    const bare: KubeObject = { kind: 'Node', metadata: meta('h2', { namespace: undefined }), status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } };
    const t = toTable('nodes', [node, bare, { kind: 'Node', metadata: meta('h3') }], { now: NOW });
    expect(names(t)).toEqual(['Name', 'Status', 'Roles', 'Age', 'Version', 'Internal-IP', 'External-IP', 'OS-Image', 'Kernel-Version', 'Container-Runtime']);
    expect(t.rows.map((r) => r.cells)).toEqual([
      ['h1', 'Ready,SchedulingDisabled', 'control-plane,worker', '4h', 'v1.32.0-pilot', '172.30.0.11', '<none>', 'Debian GNU/Linux 12 (bookworm)', '6.1.0', 'docker://20.10.24'],
      ['h2', 'NotReady', '<none>', '4h', '', '<none>', '<none>', '<unknown>', '<unknown>', '<unknown>'],
      ['h3', 'Unknown', '<none>', '4h', '', '<none>', '<none>', '<unknown>', '<unknown>', '<unknown>'],
    ]);
  });

  it('namespaces and leases', () => {
    expect(toTable('ns', [{ metadata: meta('kube-system'), status: { phase: 'Active' } }], { now: NOW }).rows[0]?.cells).toEqual(['kube-system', 'Active', '4h']);
    const lease = toTable('leases', [{ metadata: meta('h1'), spec: { holderIdentity: 'h1', renewTime: '2026-01-02T14:59:59.000000Z' } }], { now: NOW });
    expect(names(lease)).toEqual(['Name', 'Holder', 'Age']);
    expect(lease.rows[0]?.cells).toEqual(['h1', 'h1', '4h']);
  });

  it('events: LAST SEEN TYPE REASON OBJECT MESSAGE, wide the rest', () => {
    const ev: KubeObject = {
      kind: 'Event',
      metadata: meta('web-1.17a'),
      involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'default', fieldPath: 'spec.containers{c}' },
      reason: 'Pulled',
      message: 'Container image "nginx" already present on machine\n',
      type: 'Normal',
      count: 3,
      firstTimestamp: ago(600),
      lastTimestamp: ago(65),
      source: { component: 'kubelet', host: 'h1' },
    };
    const fresh: KubeObject = {
      kind: 'Event',
      metadata: meta('svc.1'),
      involvedObject: { kind: 'Service', name: 'lb' },
      reason: 'AllocationFailed',
      message: 'no free node ports',
      type: 'Warning',
      eventTime: '2026-01-02T14:59:50.123456Z',
      reportingComponent: 'apiserver',
    };
    const t = toTable('events', [ev, fresh], { now: NOW });
    expect(names(t)).toEqual(['Last Seen', 'Type', 'Reason', 'Object', 'Subobject', 'Source', 'Message', 'First Seen', 'Count', 'Name']);
    expect(t.rows.map((r) => r.cells)).toEqual([
      ['65s', 'Normal', 'Pulled', 'pod/web-1', 'spec.containers{c}', 'kubelet, h1', 'Container image "nginx" already present on machine', '10m', 3, 'web-1.17a'],
      ['9s', 'Warning', 'AllocationFailed', 'service/lb', '', 'apiserver', 'no free node ports', '9s', 1, 'svc.1'],
    ]);
    expect(toTable('events', [ev], { now: NOW, wide: false }).rows[0]?.cells).toEqual(['65s', 'Normal', 'Pulled', 'pod/web-1', 'Container image "nginx" already present on machine']);
  });

  it('configmaps DATA, secrets TYPE DATA (counts, never values), serviceaccounts SECRETS', () => {
    const cm = toTable('cm', [{ metadata: meta('cfg'), data: { a: 'b', c: 'd' }, binaryData: { bin: 'AA==' } }], { now: NOW });
    expect(names(cm)).toEqual(['Name', 'Data', 'Age']);
    expect(cm.rows[0]?.cells).toEqual(['cfg', 3, '4h']);
    const sec = toTable('secrets', [{ metadata: meta('s'), type: 'Opaque', data: { p: Buffer.from('hunter2').toString('base64') } }], { now: NOW });
    expect(names(sec)).toEqual(['Name', 'Type', 'Data', 'Age']);
    expect(sec.rows[0]?.cells).toEqual(['s', 'Opaque', 1, '4h']);
    expect(JSON.stringify(sec.rows[0]?.cells)).not.toContain(Buffer.from('hunter2').toString('base64'));
    const sa = toTable('sa', [{ metadata: meta('default') }, { metadata: meta('bot'), secrets: [{ name: 'tok' }] }], { now: NOW });
    expect(names(sa)).toEqual(['Name', 'Secrets', 'Age']);
    expect(sa.rows.map((r) => r.cells)).toEqual([['default', 0, '4h'], ['bot', 1, '4h']]);
  });

  it('kinds without columns get NAME and AGE; unknown timestamps print <unknown>', () => {
    const t = toTable('widgets', [{ metadata: { name: 'w' } }], { now: NOW });
    expect(names(t)).toEqual(['Name', 'Age']);
    expect(t.rows[0]?.cells).toEqual(['w', '<unknown>']);
    expect(tableColumns('bindings').map((c) => c.name)).toEqual(['Name', 'Age']);
  });

  it('an empty list still has its columns', () => {
    const t = toTable('svc', [], { now: NOW, resourceVersion: '9' });
    expect(t.rows).toEqual([]);
    expect(names(t)).toContain('Cluster-IP');
  });
});

describe('watch events as Tables', () => {
  it('each event is a one-row Table; only the first carries columns', () => {
    const first = watchEventToTable('pods', { type: 'ADDED', object: pod() }, { now: NOW });
    const next = watchEventToTable('pods', { type: 'MODIFIED', object: pod({ name: 'web-2' }) }, { now: NOW, headers: false });
    expect(first.type).toBe('ADDED');
    expect(first.object).toMatchObject({ kind: 'Table', metadata: { resourceVersion: '7' }, rows: [{ cells: ['web-1', '1/1', 'Running', '0', '5m', '10.1.5.7', 'h1', '<none>', '<none>'] }] });
    expect((first.object as { columnDefinitions: unknown[] }).columnDefinitions).toHaveLength(9);
    expect(next.object).toMatchObject({ kind: 'Table', columnDefinitions: null, rows: [{ cells: ['web-2', '1/1', 'Running', '0', '5m', '10.1.5.7', 'h1', '<none>', '<none>'] }] });
  });

  it('a converter sends the columns once per stream, whatever the event types', () => {
    const conv = new TableWatchConverter('pods', { now: NOW });
    const status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 410 } as unknown as KubeObject;
    const out = [
      conv.convert({ type: 'ERROR', object: status }),
      conv.convert({ type: 'ADDED', object: pod() }),
      conv.convert({ type: 'MODIFIED', object: pod() }),
      conv.convert({ type: 'DELETED', object: pod() }),
    ];
    expect(out[0]?.object).toBe(status);
    expect(out.slice(1).map((e) => (e.object as { columnDefinitions: unknown[] | null }).columnDefinitions?.length ?? null)).toEqual([9, null, null]);
    expect(out.map((e) => e.type)).toEqual(['ERROR', 'ADDED', 'MODIFIED', 'DELETED']);
  });

  it('DELETED becomes a row too; ERROR passes its Status; BOOKMARK has no rows', () => {
    const deleted = watchEventToTable('pods', { type: 'DELETED', object: pod() }, { now: NOW });
    expect(deleted.type).toBe('DELETED');
    expect((deleted.object as { rows: { cells: unknown[] }[] }).rows.map((r) => r.cells[0])).toEqual(['web-1']);
    const status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Expired', code: 410 } as unknown as KubeObject;
    expect(watchEventToTable('pods', { type: 'ERROR', object: status })).toEqual({ type: 'ERROR', object: status });
    const bm = watchEventToTable('pods', { type: 'BOOKMARK', object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: '99' } } });
    expect(bm.object).toMatchObject({ kind: 'Table', metadata: { resourceVersion: '99' }, rows: [] });
  });
});

describe('Accept negotiation', () => {
  const KUBECTL = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
  it.each<[string | undefined, string | undefined]>([
    [KUBECTL, 'meta.k8s.io/v1'],
    ['application/json;as=Table;g=meta.k8s.io;v=v1beta1, application/json', 'meta.k8s.io/v1beta1'],
    ['application/json; as=Table; g=meta.k8s.io; v=v1', 'meta.k8s.io/v1'],
    ['application/json;as=Table;v=v2;g=meta.k8s.io,application/json', undefined],
    ['application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1;g=meta.k8s.io', 'meta.k8s.io/v1'],
    ['application/json', undefined],
    ['application/vnd.kubernetes.protobuf,application/json', undefined],
    ['application/json, application/json;as=Table;v=v1;g=meta.k8s.io', undefined],
    ['application/json;q=0.5, application/json;as=Table;v=v1;g=meta.k8s.io', 'meta.k8s.io/v1'],
    ['*/*', undefined],
    [undefined, undefined],
  ])('%s → %s', (accept, version) => {
    expect(parseTableAccept(accept)?.apiVersion).toBe(version);
  });

  it('tables take the negotiated apiVersion', () => {
    expect(toTable('pods', [pod()], { apiVersion: 'meta.k8s.io/v1beta1', now: NOW }).rows[0]?.object).toMatchObject({ apiVersion: 'meta.k8s.io/v1beta1' });
  });

  it('parses includeObject', () => {
    expect(parseIncludeObject(undefined)).toBe('Metadata');
    expect(parseIncludeObject('Object')).toBe('Object');
    expect(() => parseIncludeObject('All')).toThrow('includeObject must be None, Metadata or Object, not "All"');
  });
});

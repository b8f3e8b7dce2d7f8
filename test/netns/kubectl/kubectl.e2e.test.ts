import { mkdirSync, writeFileSync } from 'node:fs';
import { Cluster, startControlPlane, withLogsOnFailure, writeKubeconfig, type ControlPlane, type Host, type Pki } from '@pilot/netns';
import { FakeKubelet, Kubectl, tableRows } from './helpers.js';

/**
 * The real kubectl 1.32 against `pilot apiserver` + real etcd, the whole
 * everyday command set of issue 5, checked on what kubectl prints. The same
 * suite runs two ways: in the master namespace on the insecure loopback port,
 * and from a host namespace over TLS with a bearer-token kubeconfig. Each way
 * works in its own namespace (and its own Node), so the two never meet.
 *
 * logs/exec reach a fake kubelet (TLS, client certificates only) through the
 * apiserver's proxy: the Node object names its address, as a kubelet's would.
 * The real kubelet API is the kubelet-api suite's.
 */

let c: Cluster | undefined;
let cp: ControlPlane;
let pki: Pki;
let kubelet: FakeKubelet;
let plainKubeconfig: string;
let tlsKubeconfig: string;
let insecurePort: number;
let securePort: number;

beforeAll(async () => {
  c = await Cluster.create({ hosts: 1, etcd: true });
  cp = await startControlPlane(c);
  ({ pki, insecurePort, securePort } = cp);
  mkdirSync(`${c.stateDir}/kubectl`, { recursive: true });
  plainKubeconfig = writeKubeconfig(`${c.stateDir}/kubectl/plain.kubeconfig`, { server: `http://127.0.0.1:${insecurePort}` });
  tlsKubeconfig = writeKubeconfig(`${c.stateDir}/kubectl/tls.kubeconfig`, { server: `https://${c.master.ip}:${securePort}`, pki });
  kubelet = await FakeKubelet.start(c.rootIp, pki);
});

afterAll(async () => {
  await kubelet?.close();
  await cp?.close();
  await c?.teardown();
});

const t = (name: string, fn: () => Promise<void>) => it(name, withLogsOnFailure(() => c, fn));

interface Way {
  way: string;
  ns: string;
  host: () => Host;
  kubeconfig: () => string;
  server: () => string;
}

const WAYS: Way[] = [
  { way: 'insecure port in the master namespace', ns: 'kc-plain', host: () => c!.master, kubeconfig: () => plainKubeconfig, server: () => `http://127.0.0.1:${insecurePort}` },
  { way: 'secure port with a token from a host namespace', ns: 'kc-tls', host: () => c!.hosts[0]!, kubeconfig: () => tlsKubeconfig, server: () => `https://${c!.master.ip}:${securePort}` },
];

const container = (name: string, image: string, extra = '') => `  - name: ${name}\n    image: ${image}\n${extra}`;
const podYaml = (name: string, labels: Record<string, string>, image: string) =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  labels:\n${Object.entries(labels).map(([k, v]) => `    ${k}: "${v}"\n`).join('')}spec:\n  containers:\n${container('c', image)}`;

describe.each(WAYS)('kubectl 1.32 via the $way', (way) => {
  const { ns } = way;
  const node = `node-${ns}`;
  let k: Kubectl;
  let dir: string;
  const file = (name: string, text: string) => {
    const p = `${dir}/${name}`;
    writeFileSync(p, text);
    return p;
  };
  const json = async (args: string[]) => JSON.parse(await k.ok([...args, '-o', 'json']));

  beforeAll(async () => {
    dir = `${c!.stateDir}/kubectl/${ns}`;
    mkdirSync(dir, { recursive: true });
    k = new Kubectl(way.host(), way.kubeconfig(), `${dir}/cache`, ns);
    // The typed client behind `create namespace` sends a protobuf body (application/vnd.kubernetes.protobuf).
    expect(await k.ok(['create', 'namespace', ns])).toBe(`namespace/${ns} created\n`);
  });

  t('version, cluster-info and api-resources', async () => {
    expect(await k.ok(['version'])).toMatch(/Server Version: v1\.32\.\d+/);
    expect(await k.ok(['cluster-info'])).toContain(`Kubernetes control plane is running at ${way.server()}`);
    const rows = tableRows(await k.ok(['api-resources']));
    expect(rows[0]).toEqual(['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND']);
    expect(rows).toEqual(
      expect.arrayContaining([
        ['pods', 'po', 'v1', 'true', 'Pod'],
        ['services', 'svc', 'v1', 'true', 'Service'],
        ['replicationcontrollers', 'rc', 'v1', 'true', 'ReplicationController'],
        ['nodes', 'no', 'v1', 'false', 'Node'],
        ['leases', 'coordination.k8s.io/v1', 'true', 'Lease'],
        ['configmaps', 'cm', 'v1', 'true', 'ConfigMap'],
        ['secrets', 'v1', 'true', 'Secret'],
        ['serviceaccounts', 'sa', 'v1', 'true', 'ServiceAccount'],
      ]),
    );
  });

  t('create -f: a Pod, a Service, an RC, a multi-document file; AlreadyExists, Invalid, unknown resource and unknown field errors', async () => {
    expect(await k.ok(['create', '-f', file('web-1.yaml', podYaml('web-1', { app: 'web', tier: 'fe' }, 'busybox:1.36'))])).toBe('pod/web-1 created\n');
    const svc = file('svc.yaml', 'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: web\n  ports:\n  - port: 80\n    targetPort: 8080\n');
    expect(await k.ok(['create', '-f', svc])).toBe('service/web created\n');
    const rc = file(
      'rc.yaml',
      'apiVersion: v1\nkind: ReplicationController\nmetadata:\n  name: web-rc\nspec:\n  replicas: 1\n  selector:\n    app: web-rc\n  template:\n    metadata:\n      labels:\n        app: web-rc\n    spec:\n      containers:\n      - name: c\n        image: busybox:1.36\n        command: ["sleep", "3600"]\n',
    );
    expect(await k.ok(['create', '-f', rc])).toBe('replicationcontroller/web-rc created\n');
    const multi = file(
      'multi.yaml',
      [
        podYaml('web-2', { app: 'web' }, 'alpine:3'),
        podYaml('db', { app: 'db' }, 'registry.local/zz:1'),
        'apiVersion: v1\nkind: Endpoints\nmetadata:\n  name: web\nsubsets:\n- addresses:\n  - ip: 10.1.0.5\n  ports:\n  - port: 8080\n',
      ].join('---\n'),
    );
    expect((await k.ok(['create', '-f', multi])).trim().split('\n')).toEqual(['pod/web-2 created', 'pod/db created', 'endpoints/web created']);

    expect(await k.fails(['create', '-f', rc])).toContain(`Error from server (AlreadyExists): error when creating "${rc}": replicationcontrollers "web-rc" already exists`);
    const bad = await k.fails(['create', '-f', file('bad.yaml', podYaml('Bad_Name', { app: 'x' }, 'busybox'))]);
    expect(bad).toMatch(/The Pod "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name"/);
    expect(await k.fails(['get', 'frobs'])).toContain(`the server doesn't have a resource type "frobs"`);

    // Server-side field validation: kubectl sends fieldValidation=Strict (its default) or Warn.
    const typo = file('typo.yaml', podYaml('typo', { app: 'typo' }, 'busybox').replace('    image: busybox\n', '    image: busybox\n    imagee: oops\n'));
    expect(await k.fails(['create', '-f', typo])).toContain('strict decoding error: unknown field "spec.containers[0].imagee"');
    const warned = await k.run(['create', '--validate=warn', '-f', typo]);
    expect(warned.exitCode).toBe(0);
    expect(warned.stderr).toContain('Warning: unknown field "spec.containers[0].imagee"');
    expect((await json(['get', 'pod', 'typo'])).spec.containers[0]).not.toHaveProperty('imagee');
    expect(await k.ok(['delete', 'pod', 'typo'])).toBe('pod "typo" deleted\n');
  });

  t('typed-client commands (protobuf bodies): create namespace, create service clusterip/nodeport/externalname, run, create configmap|secret|serviceaccount', async () => {
    // A namespace of its own, so the listings the other cases check stay as they are.
    const tns = `${ns}-typed`;
    const n = ['-n', tns];
    expect(await k.ok(['create', 'namespace', tns])).toBe(`namespace/${tns} created\n`);
    expect(tableRows(await k.ok(['get', 'ns', tns]))).toEqual([['NAME', 'STATUS', 'AGE'], [tns, 'Active', expect.any(String)]]);

    expect(await k.ok([...n, 'create', 'service', 'clusterip', 'web', '--tcp=80:8080'])).toBe('service/web created\n');
    expect(await k.ok([...n, 'create', 'service', 'nodeport', 'web-np', '--tcp=81:8081'])).toBe('service/web-np created\n');
    const web = await json([...n, 'get', 'svc', 'web']);
    expect(web.metadata.labels).toEqual({ app: 'web' });
    expect(web.spec).toMatchObject({ type: 'ClusterIP', selector: { app: 'web' }, ports: [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 }] });
    const np = await json([...n, 'get', 'svc', 'web-np']);
    const nodePort = np.spec.ports[0].nodePort as number;
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    expect(nodePort).toBeLessThanOrEqual(32767);
    const svc = tableRows(await k.ok([...n, 'get', 'svc', 'web', 'web-np', '-o', 'wide']));
    expect(svc.slice(1).map((r) => [...r.slice(0, 2), ...r.slice(3, 5), r[6]])).toEqual([
      ['web', 'ClusterIP', '<none>', '80/TCP', 'app=web'],
      ['web-np', 'NodePort', '<none>', `81:${nodePort}/TCP`, 'app=web-np'],
    ]);
    expect(svc.slice(1).map((r) => r[2])).toEqual([web.spec.clusterIP, np.spec.clusterIP]);
    expect(await k.ok([...n, 'create', 'service', 'externalname', 'ext', '--external-name=example.com'])).toBe('service/ext created\n');
    expect(tableRows(await k.ok([...n, 'get', 'svc', 'ext']))[1]!.slice(0, 4)).toEqual(['ext', 'ExternalName', '<none>', 'example.com']);
    const described = await k.ok([...n, 'describe', 'svc', 'web']);
    expect(described).toMatch(/^Selector:\s+app=web$/m);
    expect(described).toMatch(/^Port:\s+80-8080\s+80\/TCP$/m);
    expect(described).toMatch(/^TargetPort:\s+8080\/TCP$/m);

    expect(await k.ok([...n, 'run', 'web', '--image=busybox', '--port=80', '--labels=app=web', '--env=A=b', '--', 'sleep', '3600'])).toBe('pod/web created\n');
    const pod = await json([...n, 'get', 'pod', 'web']);
    expect(pod.metadata.labels).toEqual({ app: 'web' });
    expect(pod.spec).toMatchObject({ restartPolicy: 'Always', dnsPolicy: 'ClusterFirst' });
    expect(pod.spec.containers).toEqual([
      expect.objectContaining({ name: 'web', image: 'busybox', args: ['sleep', '3600'], ports: [expect.objectContaining({ containerPort: 80 })], env: [{ name: 'A', value: 'b' }] }),
    ]);
    const describedPod = await k.ok([...n, 'describe', 'pod', 'web']);
    expect(describedPod).toMatch(/^Labels:\s+app=web$/m);
    expect(describedPod).toMatch(/^\s+Image:\s+busybox$/m);
    expect(describedPod).toMatch(/^\s+Port:\s+80\/TCP$/m);
    expect(describedPod).toMatch(/^\s+Args:\n\s+sleep\n\s+3600$/m);
    expect(describedPod).toMatch(/^\s+Environment:\n\s+A:\s+b$/m);

    // ConfigMap, Secret, ServiceAccount: protobuf bodies, Tables, and a Secret's value in neither get nor describe.
    expect(await k.ok([...n, 'create', 'configmap', 'x', '--from-literal=a=b', '--from-literal=c=d'])).toBe('configmap/x created\n');
    expect(await k.ok([...n, 'create', 'secret', 'generic', 's', '--from-literal=p=hunter2'])).toBe('secret/s created\n');
    expect(await k.ok([...n, 'create', 'secret', 'docker-registry', 'reg', '--docker-server=registry.test', '--docker-username=u', '--docker-password=p'])).toBe('secret/reg created\n');
    expect(await k.ok([...n, 'create', 'serviceaccount', 'bot'])).toBe('serviceaccount/bot created\n');
    const listed = await k.ok([...n, 'get', 'cm,secret,sa']);
    expect(listed).not.toContain('hunter2');
    expect(listed).not.toContain(Buffer.from('hunter2').toString('base64'));
    const blocks = listed.trim().split(/\n\s*\n/).map(tableRows);
    expect(blocks[0]).toEqual([['NAME', 'DATA', 'AGE'], ['configmap/x', '2', expect.any(String)]]);
    expect(blocks[1]).toEqual([
      ['NAME', 'TYPE', 'DATA', 'AGE'],
      ['secret/reg', 'kubernetes.io/dockerconfigjson', '1', expect.any(String)],
      ['secret/s', 'Opaque', '1', expect.any(String)],
    ]);
    expect(blocks[2]).toEqual(expect.arrayContaining([['NAME', 'SECRETS', 'AGE'], ['serviceaccount/bot', '0', expect.any(String)]]));
    const describedSecret = await k.ok([...n, 'describe', 'secret', 's']);
    expect(describedSecret).toMatch(/^Type:\s+Opaque$/m);
    expect(describedSecret).toMatch(/^p:\s+7 bytes$/m);
    expect(describedSecret).not.toContain('hunter2');
    expect(await k.ok([...n, 'describe', 'cm', 'x'])).toMatch(/^a:\n----\nb\n/m);
    const yaml = await k.ok([...n, 'get', 'secret', 's', '-o', 'yaml']);
    expect(yaml).toMatch(/^data:\n {2}p: aHVudGVyMg==$/m);
    expect(yaml).toMatch(/^type: Opaque$/m);
    expect(await k.ok([...n, 'replace', '-f', '-'], { input: yaml })).toBe('secret/s replaced\n');
    expect((await json([...n, 'get', 'secret', 's'])).data).toEqual({ p: 'aHVudGVyMg==' });
    // stringData is folded into data on write, and an invalid key is refused by the server.
    const sd = file('sd.yaml', 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: sd\nstringData:\n  user: admin\n');
    expect(await k.ok([...n, 'apply', '-f', sd])).toBe('secret/sd created\n');
    const stored = await json([...n, 'get', 'secret', 'sd']);
    expect(stored.data).toEqual({ user: Buffer.from('admin').toString('base64') });
    expect(stored).not.toHaveProperty('stringData');
    const badKey = await k.fails([...n, 'create', '-f', file('badkey.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\ndata:\n  a/b: x\n')]);
    expect(badKey).toContain(`The ConfigMap "bad" is invalid: data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`);
    const badB64 = await k.fails([...n, 'create', '-f', file('badb64.yaml', 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: bad\ndata:\n  p: hunter2\n')]);
    expect(badB64).toContain('data[p]');
    expect(badB64).not.toContain('hunter2');
    const im = file('im.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: im\nimmutable: true\ndata:\n  a: "1"\n');
    expect(await k.ok([...n, 'create', '-f', im])).toBe('configmap/im created\n');
    expect(await k.fails([...n, 'patch', 'cm', 'im', '-p', '{"data":{"a":"2"}}'])).toContain('The ConfigMap "im" is invalid: data: Forbidden: field is immutable when `immutable` is set');
  });

  t('a Node with its kubelet endpoint and Lease; the scheduler-style binding of web-1', async () => {
    await k.ok(['create', '-f', file('node.yaml', `apiVersion: v1\nkind: Node\nmetadata:\n  name: ${node}\n  labels:\n    node-role.kubernetes.io/worker: ""\n`)]);
    const status = {
      status: {
        addresses: [{ type: 'InternalIP', address: kubelet.host }, { type: 'Hostname', address: node }],
        daemonEndpoints: { kubeletEndpoint: { Port: kubelet.port } },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }],
        nodeInfo: { kubeletVersion: 'v1.32.0-pilot', osImage: 'Debian GNU/Linux 12 (bookworm)', kernelVersion: '6.1.0', containerRuntimeVersion: 'docker://20.10.24', architecture: 'amd64', operatingSystem: 'linux', machineID: 'm', systemUUID: 's', bootID: 'b', kubeProxyVersion: '' },
      },
    };
    expect(await k.ok(['patch', 'node', node, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)])).toBe(`node/${node} patched\n`);
    const micro = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    await k.ok(['create', '-n', 'kube-node-lease', '-f', file('lease.yaml', `apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: ${node}\nspec:\n  holderIdentity: ${node}\n  leaseDurationSeconds: 40\n  renewTime: "${micro}"\n`)]);
    const binding = file('binding.json', JSON.stringify({ apiVersion: 'v1', kind: 'Binding', metadata: { name: 'web-1' }, target: { apiVersion: 'v1', kind: 'Node', name: node } }));
    await k.ok(['create', '--raw', `/api/v1/namespaces/${ns}/pods/web-1/binding`, '-f', binding]);
    expect(await k.ok(['get', 'pod', 'web-1', '-o', 'jsonpath={.spec.nodeName}'])).toBe(node);
  });

  t('get pods/svc/rc/ep/nodes/ns/events: tables, -o wide, yaml, json, jsonpath, name, -l, -A, --show-labels, --sort-by', async () => {
    const pods = tableRows(await k.ok(['get', 'pods']));
    expect(pods[0]).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    expect(pods.slice(1).map((r) => r.slice(0, 4))).toEqual([
      ['db', '0/1', 'Pending', '0'],
      ['web-1', '0/1', 'Pending', '0'],
      ['web-2', '0/1', 'Pending', '0'],
    ]);
    const wide = tableRows(await k.ok(['get', 'pods', '-o', 'wide']));
    expect(wide[0]).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES']);
    expect(wide.find((r) => r[0] === 'web-1')!.slice(5)).toEqual(['<none>', node, '<none>', '<none>']);

    const svc = tableRows(await k.ok(['get', 'svc']));
    expect(svc[0]).toEqual(['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']);
    expect(svc[1]!.slice(0, 5)).toEqual(['web', 'ClusterIP', expect.stringMatching(/^10\.0\.0\.\d+$/), '<none>', '80/TCP']);
    expect(tableRows(await k.ok(['get', 'svc', '-o', 'wide']))[1]!.at(-1)).toBe('app=web');

    const rc = tableRows(await k.ok(['get', 'rc']));
    expect(rc[0]).toEqual(['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE']);
    expect(rc[1]!.slice(0, 4)).toEqual(['web-rc', '1', '0', '0']);
    const rcWide = tableRows(await k.ok(['get', 'rc', '-o', 'wide']));
    expect(rcWide[0]!.slice(5)).toEqual(['CONTAINERS', 'IMAGES', 'SELECTOR']);
    expect(rcWide[1]!.slice(5)).toEqual(['c', 'busybox:1.36', 'app=web-rc']);

    const ep = tableRows(await k.ok(['get', 'ep']));
    expect(ep[0]).toEqual(['NAME', 'ENDPOINTS', 'AGE']);
    expect(ep[1]!.slice(0, 2)).toEqual(['web', '10.1.0.5:8080']);

    const nodes = tableRows(await k.ok(['get', 'nodes', node, '-o', 'wide']));
    expect(nodes[0]!.slice(0, 7)).toEqual(['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION', 'INTERNAL-IP', 'EXTERNAL-IP']);
    expect(nodes[1]!.slice(0, 2)).toEqual([node, 'Ready']);
    expect(nodes[1]![2]).toBe('worker');
    expect(nodes[1]!.slice(4, 7)).toEqual(['v1.32.0-pilot', kubelet.host, '<none>']);
    expect(tableRows(await k.ok(['get', 'nodes', node]))[0]).toEqual(['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION']);

    expect(tableRows(await k.ok(['get', 'ns', ns]))).toEqual([['NAME', 'STATUS', 'AGE'], [ns, 'Active', expect.any(String)]]);
    const events = tableRows(await k.ok(['get', 'events']));
    expect(events[0]).toEqual(['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
    expect(events.map((r) => r.slice(1, 4))).toEqual(expect.arrayContaining([['Normal', 'ClusterIPAllocated', 'service/web']]));

    const yaml = await k.ok(['get', 'pod', 'web-1', '-o', 'yaml']);
    expect(yaml).toMatch(/^apiVersion: v1\nkind: Pod\n/);
    expect(yaml).toContain(`  namespace: ${ns}\n`);
    const list = await json(['get', 'pods']);
    expect(list.kind).toBe('List');
    expect(list.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['db', 'web-1', 'web-2']);
    expect(await k.ok(['get', 'pods', '-o', 'jsonpath={.items[*].spec.containers[0].image}'])).toBe('registry.local/zz:1 busybox:1.36 alpine:3');
    expect(await k.ok(['get', 'pods,svc,rc', '-o', 'name'])).toBe('pod/db\npod/web-1\npod/web-2\nservice/web\nreplicationcontroller/web-rc\n');
    expect(await k.ok(['get', 'pods', '-l', 'app=web', '-o', 'name'])).toBe('pod/web-1\npod/web-2\n');
    expect(await k.ok(['get', 'pods', '-l', 'app=web,tier!=fe', '-o', 'name'])).toBe('pod/web-2\n');

    const all = tableRows(await k.ok(['get', 'pods', '-A']));
    expect(all[0]).toEqual(['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    expect(all.filter((r) => r[0] === ns).map((r) => r[1])).toEqual(['db', 'web-1', 'web-2']);
    const labels = tableRows(await k.ok(['get', 'pods', '--show-labels']));
    expect(labels[0]!.at(-1)).toBe('LABELS');
    expect(labels.find((r) => r[0] === 'web-1')!.at(-1)).toBe('app=web,tier=fe');
    const sorted = tableRows(await k.ok(['get', 'pods', '--sort-by=.spec.containers[0].image']));
    expect(sorted.slice(1).map((r) => r[0])).toEqual(['web-2', 'web-1', 'db']);
  });

  t('get -w prints one header and sees the create, the update and the delete', async () => {
    const watch = way.host().spawn(`kubectl-watch-${ns}`, k.argv(['get', 'pods', '-w', '--output-watch-events']));
    try {
      await watch.waitForLog(/ADDED\s+web-2\s/);
      await k.ok(['create', '-f', file('w1.yaml', podYaml('w1', { app: 'watched' }, 'busybox'))]);
      await watch.waitForLog(/ADDED\s+w1\s/);
      expect(await k.ok(['label', 'pod', 'w1', 'seen=yes'])).toBe('pod/w1 labeled\n');
      await watch.waitForLog(/MODIFIED\s+w1\s/);
      expect(await k.ok(['delete', 'pod', 'w1'])).toBe('pod "w1" deleted\n');
      await watch.waitForLog(/DELETED\s+w1\s/);
      const out = watch.log();
      expect(out.match(/^EVENT\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/gm)).toHaveLength(1);
    } finally {
      await watch.stop();
    }
  });

  t('apply -f creates, keeps every field it does not change, and removes only the label taken out of the file', async () => {
    const manifest = (image: string, port: number, labels: string) =>
      `apiVersion: v1\nkind: ReplicationController\nmetadata:\n  name: applied\n  labels:\n${labels}spec:\n  replicas: 2\n  selector:\n    app: applied\n  template:\n    metadata:\n      labels:\n        app: applied\n    spec:\n      containers:\n      - name: app\n        image: ${image}\n        command: ["sleep", "3600"]\n        env:\n        - name: MODE\n          value: demo\n        ports:\n        - containerPort: ${port}\n        resources:\n          limits:\n            cpu: 100m\n            memory: 64Mi\n`;
    const path = `${dir}/applied.yaml`;
    writeFileSync(path, manifest('busybox:1.36', 8080, '    team: net\n    stage: beta\n'));
    expect(await k.ok(['apply', '-f', path])).toBe('replicationcontroller/applied created\n');
    writeFileSync(path, manifest('busybox:1.37', 9090, '    team: net\n    stage: beta\n'));
    expect(await k.ok(['apply', '-f', path])).toBe('replicationcontroller/applied configured\n');
    let rc = await json(['get', 'rc', 'applied']);
    expect(rc.spec.template.spec.containers).toEqual([
      expect.objectContaining({
        name: 'app',
        image: 'busybox:1.37',
        command: ['sleep', '3600'],
        env: [{ name: 'MODE', value: 'demo' }],
        ports: [expect.objectContaining({ containerPort: 9090 })],
        resources: { limits: { cpu: '100m', memory: '64Mi' } },
      }),
    ]);
    expect(rc.spec.replicas).toBe(2);
    expect(rc.metadata.labels).toEqual({ team: 'net', stage: 'beta' });
    writeFileSync(path, manifest('busybox:1.37', 9090, '    team: net\n'));
    expect(await k.ok(['apply', '-f', path])).toBe('replicationcontroller/applied configured\n');
    rc = await json(['get', 'rc', 'applied']);
    expect(rc.metadata.labels).toEqual({ team: 'net' });
    expect(rc.spec.template.spec.containers[0]).toMatchObject({ image: 'busybox:1.37', command: ['sleep', '3600'], env: [{ name: 'MODE', value: 'demo' }] });
  });

  t('label, annotate, scale, expose (ClusterIP and LoadBalancer with an external IP)', async () => {
    expect(await k.ok(['label', 'pod', 'web-2', 'tier=be'])).toBe('pod/web-2 labeled\n');
    expect(await k.ok(['annotate', 'pod', 'web-2', 'note=hello'])).toBe('pod/web-2 annotated\n');
    const p = await json(['get', 'pod', 'web-2']);
    expect(p.metadata.labels).toEqual({ app: 'web', tier: 'be' });
    expect(p.metadata.annotations).toMatchObject({ note: 'hello' });
    expect(await k.ok(['label', 'pod', 'web-2', 'tier-'])).toBe('pod/web-2 unlabeled\n');

    expect(await k.ok(['scale', 'rc', 'web-rc', '--replicas=3'])).toBe('replicationcontroller/web-rc scaled\n');
    expect(tableRows(await k.ok(['get', 'rc', 'web-rc']))[1]!.slice(0, 2)).toEqual(['web-rc', '3']);

    expect(await k.ok(['expose', 'rc', 'web-rc', '--name=web-exposed', '--port=80', '--target-port=8080'])).toBe('service/web-exposed exposed\n');
    const exposed = await json(['get', 'svc', 'web-exposed']);
    expect(exposed.spec).toMatchObject({ type: 'ClusterIP', selector: { app: 'web-rc' }, ports: [expect.objectContaining({ port: 80, targetPort: 8080, protocol: 'TCP' })] });

    expect(await k.ok(['expose', 'rc', 'web-rc', '--name=web-lb', '--type=LoadBalancer', '--port=81', '--target-port=8080', '--external-ip=192.0.2.10'])).toBe('service/web-lb exposed\n');
    const lb = await json(['get', 'svc', 'web-lb']);
    const nodePort = lb.spec.ports[0].nodePort as number;
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    expect(nodePort).toBeLessThanOrEqual(32767);
    expect(lb.spec.externalIPs).toEqual(['192.0.2.10']);
    const row = tableRows(await k.ok(['get', 'svc', 'web-lb']))[1]!;
    expect(row.slice(0, 5)).toEqual(['web-lb', 'LoadBalancer', lb.spec.clusterIP, '192.0.2.10', `81:${nodePort}/TCP`]);

    // A Service asking for that node port is refused, and the apiserver says why in a Warning event.
    const clash = file('clash.yaml', `apiVersion: v1\nkind: Service\nmetadata:\n  name: clash\nspec:\n  type: NodePort\n  selector:\n    app: web\n  ports:\n  - port: 80\n    nodePort: ${nodePort}\n`);
    expect(await k.fails(['create', '-f', clash])).toContain(`The Service "clash" is invalid: spec.ports[0].nodePort: Invalid value: ${nodePort}: provided port is already allocated`);
    const ev = tableRows(await k.ok(['get', 'events', '--field-selector', 'involvedObject.name=clash']));
    expect(ev.slice(1).map((r) => r.slice(1, 4))).toEqual([['Warning', 'FailedToAllocate', 'service/clash']]);
    // Trying again counts the same Event instead of adding one.
    await k.fails(['create', '-f', clash]);
    expect(await k.ok(['get', 'events', '--field-selector', 'involvedObject.name=clash,reason=FailedToAllocate', '-o', 'jsonpath={.items[*].count}'])).toBe('2');
  });

  t('describe pod/svc/rc/node tells the story: node, endpoints, lease and events', async () => {
    const pod = await k.ok(['describe', 'pod', 'web-1']);
    expect(pod).toMatch(new RegExp(`^Node:\\s+${node}/`, 'm'));
    // The test bound it through pods/binding itself: Scheduled events are the scheduler's to write, not the apiserver's.
    expect(pod).not.toMatch(/Scheduled\s+.*pilot-apiserver/);

    const svc = await k.ok(['describe', 'svc', 'web']);
    expect(svc).toMatch(/^Selector:\s+app=web$/m);
    expect(svc).toMatch(/^Endpoints:\s+10\.1\.0\.5:8080$/m);
    expect(svc).toMatch(/Normal\s+ClusterIPAllocated\s+.*Cluster IP 10\.0\.0\.\d+ allocated/);
    expect(await k.ok(['describe', 'svc', 'web-lb'])).toMatch(/Normal\s+NodePortAllocated\s+.*Node port 3\d{4} allocated/);

    const rc = await k.ok(['describe', 'rc', 'web-rc']);
    expect(rc).toMatch(/^Replicas:\s+0 current \/ 3 desired$/m);
    expect(rc).toMatch(/Normal\s+ScalingReplicationController\s+.*Scaled replication controller web-rc from 1 to 3/);

    const n = await k.ok(['describe', 'node', node]);
    expect(n).toMatch(/^Roles:\s+worker$/m);
    expect(n).toMatch(new RegExp(`^Lease:\\n\\s+HolderIdentity:\\s+${node}\\n`, 'm'));
    expect(n).toMatch(new RegExp(`InternalIP:\\s+${kubelet.host.replace(/\./g, '\\.')}`));
    expect(n).toMatch(/Ready\s+True\s+.*KubeletReady/);
  });

  t('edit with a scripted KUBE_EDITOR, and patch of all three types', async () => {
    const edited = await k.run(['edit', 'rc', 'web-rc'], { env: { KUBE_EDITOR: 'sed -i -e s/busybox:1.36/busybox:1.37/' } });
    expect(edited.stderr).toBe('');
    expect(edited.stdout).toBe('replicationcontroller/web-rc edited\n');
    expect(await k.ok(['get', 'rc', 'web-rc', '-o', 'jsonpath={.spec.template.spec.containers[0].image}'])).toBe('busybox:1.37');

    // Strategic (kubectl's default): containers merge by name, so the command stays.
    const smp = { spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox:1.38' }] } } } };
    expect(await k.ok(['patch', 'rc', 'web-rc', '-p', JSON.stringify(smp)])).toBe('replicationcontroller/web-rc patched\n');
    const c0 = (await json(['get', 'rc', 'web-rc'])).spec.template.spec.containers;
    expect(c0).toEqual([expect.objectContaining({ name: 'c', image: 'busybox:1.38', command: ['sleep', '3600'] })]);

    expect(await k.ok(['patch', 'pod', 'web-2', '--type=merge', '-p', '{"metadata":{"labels":{"m":"1","app":null}}}'])).toBe('pod/web-2 patched\n');
    expect((await json(['get', 'pod', 'web-2'])).metadata.labels).toEqual({ m: '1' });
    expect(await k.ok(['patch', 'pod', 'web-2', '--type=json', '-p', '[{"op":"replace","path":"/metadata/labels/m","value":"2"},{"op":"add","path":"/metadata/labels/app","value":"web"}]'])).toBe('pod/web-2 patched\n');
    expect((await json(['get', 'pod', 'web-2'])).metadata.labels).toEqual({ m: '2', app: 'web' });
    expect(await k.fails(['patch', 'pod', 'web-2', '--type=json', '-p', '[{"op":"remove","path":"/metadata/labels/nope"}]'])).toContain('json patch operation 0 (remove /metadata/labels/nope): path not found');
  });

  t('logs (and -f) and exec go through the apiserver to the kubelet of the pod\'s node; no kubelet is a clear 503', async () => {
    kubelet.appendLog(ns, 'web-1', 'c', 'line one', 'line two');
    expect(await k.ok(['logs', 'web-1'])).toBe('line one\nline two\n');
    expect(await k.ok(['logs', 'web-1', '--tail=1'])).toBe('line two\n');
    const follow = way.host().spawn(`kubectl-logs-${ns}`, k.argv(['logs', '-f', 'web-1']));
    try {
      await follow.waitForLog('line two');
      kubelet.appendLog(ns, 'web-1', 'c', 'line three');
      await follow.waitForLog('line three');
    } finally {
      await follow.stop();
    }
    expect(kubelet.requests).toContain(`/containerLogs/${ns}/web-1/c?follow=true`);

    expect(await k.ok(['exec', 'web-1', '--', 'echo', 'hello', 'from', 'exec'])).toBe('hello from exec\n');
    expect(await k.ok(['exec', '-i', 'web-1', '--', 'cat'], { input: 'piped through\n' })).toBe('piped through\n');
    const failed = await k.run(['exec', 'web-1', '--', 'sh', '-c', 'echo oops >&2; exit 3']);
    expect(failed.exitCode).toBe(3);
    expect(failed.stderr).toContain('oops');
    expect(failed.stderr).toContain('command terminated with exit code 3');

    // The websocket session reached the kubelet's /exec with the container and the command.
    expect(kubelet.requests.some((r) => r.startsWith(`/exec/${ns}/web-1/c?`) && r.includes('command=echo&command=hello&command=from&command=exec'))).toBe(true);

    // Bound to a node that never registered: no kubelet address.
    await k.ok(['create', '-f', file('orphan.yaml', podYaml('orphan', { app: 'orphan' }, 'busybox'))]);
    const ghost = file('ghost.json', JSON.stringify({ apiVersion: 'v1', kind: 'Binding', metadata: { name: 'orphan' }, target: { kind: 'Node', name: `ghost-${ns}` } }));
    await k.ok(['create', '--raw', `/api/v1/namespaces/${ns}/pods/orphan/binding`, '-f', ghost]);
    expect(await k.fails(['logs', 'orphan'])).toContain(`Error from server (ServiceUnavailable): logs for pod "orphan" are not available: its node "ghost-${ns}" is not registered`);
    // db is not scheduled: no node, no kubelet.
    expect(await k.fails(['logs', 'db'])).toContain('Error from server (ServiceUnavailable): logs for pod "db" are not available: the pod is not scheduled to a node yet');
    expect(await k.fails(['exec', 'db', '--', 'true'])).toContain('the pod is not scheduled to a node yet');
  });

  t('delete by name, by -f and by -l', async () => {
    expect(await k.ok(['delete', 'pod', 'web-2'])).toBe('pod "web-2" deleted\n');
    expect(await k.ok(['delete', '-f', `${dir}/svc.yaml`])).toBe('service "web" deleted\n');
    expect(await k.ok(['delete', 'pods', '-l', 'app=db'])).toBe('pod "db" deleted\n');
    // A bound pod is deleted gracefully (its kubelet confirms); --force --grace-period=0 removes it at once.
    expect(await k.ok(['delete', 'pod', 'orphan', '--force', '--grace-period=0'])).toBe('pod "orphan" force deleted\n');
    expect(await k.ok(['get', 'pods', '-o', 'name'])).toBe('pod/web-1\n');
    expect(await k.fails(['get', 'svc', 'web'])).toContain('Error from server (NotFound): services "web" not found');
  });
});

describe('exec streams on the secure port', () => {
  t('an upgrade without a token is 401 and never reaches the kubelet', async () => {
    const before = kubelet.requests.length;
    const url = `https://${c!.master.ip}:${securePort}/api/v1/namespaces/kc-tls/pods/web-1/exec?command=true&stdout=true`;
    const ws = ['-H', 'Connection: Upgrade', '-H', 'Upgrade: websocket', '-H', 'Sec-WebSocket-Version: 13', '-H', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', '-H', 'Sec-WebSocket-Protocol: v5.channel.k8s.io'];
    const r = await c!.hosts[0]!.exec(['curl', '-s', '-i', '-m', '10', '--http1.1', '--cacert', pki.caFile, ...ws, url]);
    expect(r.stdout).toMatch(/^HTTP\/1\.1 401/);
    expect(r.stdout).toContain('"reason":"Unauthorized"');
    expect(kubelet.requests.length).toBe(before);
  });
});

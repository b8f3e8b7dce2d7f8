import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { KubeObject } from '@pilot/api';
import { Cluster, startControlPlane, withLogsOnFailure, type ControlPlane } from '@pilot/netns';
import { pod } from './helpers.js';

/**
 * Hostile paths against the `pilot apiserver` binary on both ports (issue 11:
 * `DELETE .../pods/%2E%2E` deleted the namespace). Every request is sent byte
 * for byte (raw sockets; curl with --path-as-is), at a namespace full of
 * objects; each must be refused with 400 and nothing in etcd may change.
 */

const RAW_HTTP = fileURLToPath(new URL('../tools/raw-http.mjs', import.meta.url));
const NS = 'victim';
const PODS = 12;

let c: Cluster | undefined;
let cp: ControlPlane;

beforeAll(async () => {
  c = await Cluster.create({ hosts: 0, etcd: true });
  cp = await startControlPlane(c);
  await cp.client.create('namespaces', { metadata: { name: NS } });
  for (let i = 0; i < PODS; i++) await cp.client.create('pods', pod(`p-${i}`, { app: 'victim' }), { namespace: NS });
  await cp.client.create('services', { metadata: { name: 'x' }, spec: { ports: [{ port: 80 }], selector: { app: 'victim' } } }, { namespace: NS });
  await cp.client.create(
    'replicationcontrollers',
    { metadata: { name: 'rc' }, spec: { replicas: 1, selector: { app: 'victim' }, template: { metadata: { labels: { app: 'victim' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } } },
    { namespace: NS },
  );
  await cp.client.create('nodes', { metadata: { name: 'n1' } });
});

afterAll(async () => {
  await cp?.close();
  await c?.teardown();
});

const t = (name: string, fn: () => Promise<void>) => it(name, withLogsOnFailure(() => c, fn));

const HOSTILE_PATHS = [
  `/api/v1/namespaces/${NS}/pods/%2E%2E`,
  `/api/v1/namespaces/${NS}/pods/%2e%2e`,
  `/api/v1/namespaces/${NS}/pods/..`,
  `/api/v1/namespaces/${NS}/pods/.`,
  `/api/v1/namespaces/${NS}/pods/%2E`,
  `/api/v1/namespaces/${NS}/pods/.%2e`,
  `/api/v1/namespaces/${NS}/pods/%2E%2E/status`,
  `/api/v1/namespaces/${NS}/pods/%2E%2E/binding`,
  `/api/v1/namespaces/${NS}/pods/%2E%2E/log`,
  `/api/v1/namespaces/${NS}/pods/p-0/%2E%2E`,
  `/api/v1/namespaces/${NS}/pods/p-0/%2E%2E/%2E%2E`,
  `/api/v1/namespaces/${NS}/pods/p-0%2F..`,
  `/api/v1/namespaces/${NS}/pods/%2E%2E/%2E%2E/%2E%2E/namespaces/${NS}`,
  `/api/v1/namespaces/${NS}/replicationcontrollers/%2E%2E/scale`,
  `/api/v1/namespaces/${NS}/services/%2E%2E`,
  `/api/v1/namespaces/${NS}/services/x/%2E%2E/%2E%2E/%2E%2E/%2E%2E/nodes`,
  `/api/v1/namespaces/${NS}/%2E%2E`,
  `/api/v1/namespaces/%2E%2E/pods`,
  `/api/v1/namespaces/../pods/p-0`,
  `/api/v1/namespaces/${NS}%2Fpods/p-0`,
  `/api/v1/namespaces/%2E%2E`,
  `/api/v1/namespaces/..`,
  `/api/v1/namespaces/%2E%2E/status`,
  `/api/v1/nodes/%2E%2E`,
  `/api/v1/nodes/n1%2F..`,
  `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices/%2E%2E`,
];

const podBody = JSON.stringify(pod('..'));
const requests = HOSTILE_PATHS.flatMap((path) => [
  { method: 'GET', path },
  { method: 'GET', path: `${path}?watch=true` },
  { method: 'DELETE', path, body: '{"propagationPolicy":"Background"}', contentType: 'application/json' },
  { method: 'PUT', path, body: podBody, contentType: 'application/json' },
  { method: 'PATCH', path, body: '{"metadata":{"labels":{"hit":"yes"}}}', contentType: 'application/merge-patch+json' },
  { method: 'POST', path, body: JSON.stringify({ apiVersion: 'v1', kind: 'Binding', metadata: { name: '..' }, target: { kind: 'Node', name: 'n1' } }), contentType: 'application/json' },
]);

interface Answer {
  status?: number;
  body?: string;
  error?: string;
}

/** Everything a hostile request could have changed: every object's uid and resourceVersion, and the store's revision. */
async function snapshot(): Promise<{ revision: string; objects: string[] }> {
  const objects: string[] = [];
  let revision = '';
  for (const [resource, namespace] of [
    ['pods', NS],
    ['services', NS],
    ['replicationcontrollers', NS],
    ['endpoints', NS],
    ['namespaces', undefined],
    ['nodes', undefined],
  ] as const) {
    const list = await cp.client.list<KubeObject>(resource, namespace ? { namespace } : {});
    revision = list.metadata.resourceVersion ?? '';
    for (const o of list.items) objects.push(`${resource}/${o.metadata.namespace ?? ''}/${o.metadata.name}@${o.metadata.uid}/${o.metadata.resourceVersion}`);
  }
  return { revision, objects: objects.sort() };
}

async function fire(port: number, host: string, tls: boolean): Promise<Answer[]> {
  const spec = `${c!.master.stateDir}/raw-http-${tls ? 'tls' : 'plain'}.json`;
  writeFileSync(spec, JSON.stringify({ host, port, ...(tls ? { tls: { ca: cp.pki.caFile }, token: cp.pki.token } : {}), requests }));
  const r = await c!.master.execOk([process.execPath, RAW_HTTP, spec], { timeoutMs: 120_000 });
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Answer);
}

function expectAllRefused(answers: Answer[]): void {
  expect(answers).toHaveLength(requests.length);
  const wrong = answers
    .map((a, i) => ({ ...requests[i]!, status: a.status, error: a.error, message: a.body ? (JSON.parse(a.body) as { message?: string }).message : undefined }))
    .filter((a) => a.status !== 400 || !/^(Name|Namespace) parameter invalid: ".*": may (not be '\.\.?'|not contain '\/')/.test(a.message ?? ''));
  expect(wrong).toEqual([]);
}

describe('hostile paths against the binary', () => {
  t(`${requests.length} dot-segment and encoded-slash requests on the insecure port are each 400, and touch nothing`, async () => {
    const before = await snapshot();
    expectAllRefused(await fire(cp.insecurePort, '127.0.0.1', false));
    expect(await snapshot()).toEqual(before);
  });

  t('the same requests over TLS with a valid token are each 400, and touch nothing', async () => {
    const before = await snapshot();
    expectAllRefused(await fire(cp.securePort, c!.master.ip, true));
    expect(await snapshot()).toEqual(before);
  });

  t('curl --path-as-is DELETE of pods/%2E%2E and pods/.. names the reason and the namespace keeps its pods', async () => {
    const before = await snapshot();
    const curl = (url: string, extra: string[] = []) =>
      c!.master.execOk(['curl', '-s', '--path-as-is', '-X', 'DELETE', '-w', '\n%{http_code}', ...extra, url], { timeoutMs: 20_000 }).then((r) => {
        const lines = r.stdout.trim().split('\n');
        return { code: lines.pop(), status: JSON.parse(lines.join('\n')) as { message: string; reason: string } };
      });
    for (const name of ['%2E%2E', '..']) {
      const plain = await curl(`http://127.0.0.1:${cp.insecurePort}/api/v1/namespaces/${NS}/pods/${name}`);
      expect(plain).toEqual({ code: '400', status: expect.objectContaining({ reason: 'BadRequest', message: `Name parameter invalid: "..": may not be '..'` }) });
      const secure = await curl(`https://${c!.master.ip}:${cp.securePort}/api/v1/namespaces/${NS}/pods/${name}`, ['--cacert', cp.pki.caFile, '-H', `Authorization: Bearer ${cp.pki.token}`]);
      expect(secure.code).toBe('400');
    }
    // Without a token the secure port says 401 first, whatever the path.
    const anon = await c!.master.execOk(['curl', '-s', '--path-as-is', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'DELETE', '--cacert', cp.pki.caFile, `https://${c!.master.ip}:${cp.securePort}/api/v1/namespaces/${NS}/pods/..`]);
    expect(anon.stdout).toBe('401');
    expect(await snapshot()).toEqual(before);
    expect((await cp.client.list('pods', { namespace: NS })).items).toHaveLength(PODS);
  });
});

import type { KubeObject } from '@pilot/api';
import { Cluster, startControlPlane, withLogsOnFailure, type ControlPlane } from '@pilot/netns';
import { pod } from './helpers.js';
import { secureRaw } from './secure-raw.js';

/**
 * What an update may not change, against the `pilot apiserver` binary over
 * TLS (issue 11: a JSON patch of /metadata/name answered 200 and dropped the
 * change). PUT and all three patch types: another name or namespace is 400
 * in kube-apiserver's words; another uid, or a deletionTimestamp set by a
 * client, is 422 `field is immutable`; a creationTimestamp change is ignored,
 * as upstream does. Nothing is stored by a refused request.
 */

const NS = 'ident';
let c: Cluster | undefined;
let cp: ControlPlane;
const base = `/api/v1/namespaces/${NS}/pods`;

const isolated = (name: string, fn: () => Promise<void>) => it(name, withLogsOnFailure(() => c, fn));

beforeAll(async () => {
  c = await Cluster.create({ hosts: 0, etcd: true });
  cp = await startControlPlane(c);
  await cp.client.create('namespaces', { metadata: { name: NS } });
  await cp.client.create('pods', pod('yaml1'), { namespace: NS });
});

afterAll(async () => {
  await cp?.close();
  await c?.teardown();
});

const stored = () => cp.client.get<KubeObject>('pods', 'yaml1', { namespace: NS });

const PATCHES = {
  'application/json-patch+json': (path: string, value: unknown) => JSON.stringify([{ op: value === undefined ? 'remove' : 'replace', path, ...(value === undefined ? {} : { value }) }]),
  'application/merge-patch+json': (path: string, value: unknown) => JSON.stringify(nestAt(path, value ?? null)),
  'application/strategic-merge-patch+json': (path: string, value: unknown) => JSON.stringify(nestAt(path, value ?? null)),
};

/** `/metadata/name`, "x" → {"metadata":{"name":"x"}} */
function nestAt(path: string, value: unknown): unknown {
  return path
    .split('/')
    .filter(Boolean)
    .reduceRight<unknown>((v, k) => ({ [k]: v }), value);
}

describe('immutable identity on update', () => {
  isolated('another name or namespace is 400 on PUT and every patch type, and nothing is stored', async () => {
    const before = await stored();
    const put = await secureRaw(cp, 'PUT', `${base}/yaml1`, JSON.stringify({ ...before, metadata: { ...before.metadata, name: 'other' } }));
    expect([put.status, put.body.message]).toEqual([400, 'the name of the object (other) does not match the name on the URL (yaml1)']);
    const putNs = await secureRaw(cp, 'PUT', `${base}/yaml1`, JSON.stringify({ ...before, metadata: { ...before.metadata, namespace: 'default' } }));
    expect([putNs.status, putNs.body.message]).toEqual([400, 'the namespace of the provided object does not match the namespace sent on the request']);
    for (const [type, make] of Object.entries(PATCHES)) {
      const renamed = await secureRaw(cp, 'PATCH', `${base}/yaml1`, make('/metadata/name', 'other'), type);
      expect([type, renamed.status, renamed.body.message]).toEqual([type, 400, 'the name of the object (other) does not match the name on the URL (yaml1)']);
      const unnamed = await secureRaw(cp, 'PATCH', `${base}/yaml1`, make('/metadata/name', undefined), type);
      expect([type, unnamed.status, unnamed.body.message]).toEqual([type, 400, 'the name of the object (yaml1 based on URL) was undeterminable: name must be provided']);
      const moved = await secureRaw(cp, 'PATCH', `${base}/yaml1`, make('/metadata/namespace', 'default'), type);
      expect([type, moved.status, moved.body.message]).toEqual([type, 400, 'the namespace of the provided object does not match the namespace sent on the request']);
    }
    expect((await stored()).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    await expect(cp.client.get('pods', 'other', { namespace: NS })).rejects.toThrow(/not found/);
  });

  isolated('another uid or a client-set deletionTimestamp is 422 field is immutable; a creationTimestamp change is ignored', async () => {
    const before = await stored();
    for (const [type, make] of Object.entries(PATCHES)) {
      const uid = await secureRaw(cp, 'PATCH', `${base}/yaml1`, make('/metadata/uid', 'not-the-uid'), type);
      expect([type, uid.status, uid.body.reason, uid.body.message]).toEqual([type, 422, 'Invalid', 'Pod "yaml1" is invalid: metadata.uid: Invalid value: "not-the-uid": field is immutable']);
    }
    const putUid = await secureRaw(cp, 'PUT', `${base}/yaml1`, JSON.stringify({ ...before, metadata: { ...before.metadata, uid: 'not-the-uid' } }));
    expect([putUid.status, putUid.body.details?.causes]).toEqual([422, [expect.objectContaining({ field: 'metadata.uid', message: 'Invalid value: "not-the-uid": field is immutable' })]]);
    const deleting = await secureRaw(cp, 'PATCH', `${base}/yaml1`, '{"metadata":{"deletionTimestamp":"2030-01-01T00:00:00Z"}}', 'application/merge-patch+json');
    expect([deleting.status, deleting.body.message]).toEqual([422, 'Pod "yaml1" is invalid: metadata.deletionTimestamp: Invalid value: "2030-01-01T00:00:00Z": field is immutable']);
    expect((await stored()).metadata.resourceVersion).toBe(before.metadata.resourceVersion);

    const aged = await secureRaw(cp, 'PATCH', `${base}/yaml1`, '{"metadata":{"creationTimestamp":"2001-01-01T00:00:00Z","labels":{"seen":"yes"}}}', 'application/merge-patch+json');
    expect([aged.status, aged.body.metadata.creationTimestamp, aged.body.metadata.labels]).toEqual([200, before.metadata.creationTimestamp, { seen: 'yes' }]);
    // A PUT without uid (kubectl replace of a file) keeps the stored one.
    const { uid: _uid, ...withoutUid } = (await stored()).metadata;
    const replaced = await secureRaw(cp, 'PUT', `${base}/yaml1`, JSON.stringify({ ...before, metadata: withoutUid }));
    expect([replaced.status, replaced.body.metadata.uid]).toEqual([200, before.metadata.uid]);
  });
});

import type { KubeObject } from '@pilot/api';
import { Cluster, startControlPlane, withLogsOnFailure, type ControlPlane } from '@pilot/netns';
import { pod } from './helpers.js';
import { secureRaw } from './secure-raw.js';

/**
 * Request bodies against the `pilot apiserver` binary over TLS (issue 11):
 * JSON nested past kube-apiserver's 10,000 levels is 400 with upstream's
 * words on POST, PUT and the three patch types; up to 10,000 levels of an
 * unknown field is accepted and dropped with a warning; nothing answers 5xx,
 * the process stays up and no other object changes.
 */

const NS = 'deep';
let c: Cluster | undefined;
let cp: ControlPlane;

beforeAll(async () => {
  c = await Cluster.create({ hosts: 0, etcd: true });
  cp = await startControlPlane(c);
  await cp.client.create('namespaces', { metadata: { name: NS } });
  await cp.client.create('pods', pod('target'), { namespace: NS });
  await cp.client.create('pods', pod('bystander', { app: 'keep' }), { namespace: NS });
});

afterAll(async () => {
  await cp?.close();
  await c?.teardown();
});

const t = (name: string, fn: () => Promise<void>) => it(name, withLogsOnFailure(() => c, fn));

/** A JSON value nesting `d` levels (0: a scalar), as arrays or as objects. */
const nested = (d: number, arrays: boolean) => (d <= 0 ? '1' : arrays ? '['.repeat(d) + ']'.repeat(d) : '{"a":'.repeat(d) + '1' + '}'.repeat(d));

const podBody = (name: string, x: string) => `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"${name}"},"spec":{"containers":[{"name":"c","image":"busybox"}],"x":${x}}}`;

/** The five writes, each a body nesting exactly `depth` levels with the deep part in the unknown field spec.x. */
function writes(depth: number, arrays: boolean) {
  const x = nested(depth - 2, arrays);
  const base = `/api/v1/namespaces/${NS}/pods`;
  return [
    { verb: 'POST', method: 'POST', path: base, body: podBody('created', x), contentType: 'application/json' },
    { verb: 'PUT', method: 'PUT', path: `${base}/target`, body: podBody('target', x), contentType: 'application/json' },
    { verb: 'merge patch', method: 'PATCH', path: `${base}/target`, body: `{"spec":{"x":${x}}}`, contentType: 'application/merge-patch+json' },
    { verb: 'strategic merge patch', method: 'PATCH', path: `${base}/target`, body: `{"spec":{"x":${x}}}`, contentType: 'application/strategic-merge-patch+json' },
    { verb: 'JSON patch', method: 'PATCH', path: `${base}/target`, body: `[{"op":"add","path":"/spec/x","value":${x}}]`, contentType: 'application/json-patch+json' },
  ];
}

async function bystander(): Promise<string> {
  const p = await cp.client.get<KubeObject>('pods', 'bystander', { namespace: NS });
  return `${p.metadata.uid}/${p.metadata.resourceVersion}`;
}

describe('nesting depth', () => {
  t('10,001 levels are 400 with kube-apiserver words on POST, PUT and every patch type; 9,999 are accepted and the unknown field dropped with a warning', async () => {
    const before = await bystander();
    for (const arrays of [true, false]) {
      const bracket = arrays ? '[' : '{';
      const deep = writes(10_001, arrays);
      const answers = [];
      for (const w of deep) answers.push({ verb: w.verb, ...(await secureRaw(cp, w.method, w.path, w.body, w.contentType)) });
      const why = `invalid character '${bracket}' exceeded max depth`;
      expect(answers.map((a) => [a.verb, a.status, a.body.reason, a.body.message])).toEqual([
        ['POST', 400, 'BadRequest', `the object provided is unrecognized (must be of type Pod): couldn't get version/kind; json parse error: ${why} ({"apiVersion":"v1","kind":"Pod ...)`],
        ['PUT', 400, 'BadRequest', `the object provided is unrecognized (must be of type Pod): couldn't get version/kind; json parse error: ${why} ({"apiVersion":"v1","kind":"Pod ...)`],
        ['merge patch', 400, 'BadRequest', `error decoding patch: ${why}`],
        ['strategic merge patch', 400, 'BadRequest', why],
        ['JSON patch', 400, 'BadRequest', `error decoding patch: ${why}`],
      ]);

      for (const w of writes(9_999, arrays)) {
        const r = await secureRaw(cp, w.method, w.path, w.body, w.contentType);
        expect([w.verb, r.status]).toEqual([w.verb, w.method === 'POST' ? 201 : 200]);
        expect(r.body.spec.x).toBeUndefined();
        expect(r.warnings).toEqual(['299 - "unknown field \\"spec.x\\""']);
        if (w.method === 'POST') await cp.client.delete('pods', 'created', { namespace: NS });
      }
    }
    expect(await bystander()).toBe(before);
  });

  t('depths 1 to 100,000, as arrays and as objects, in unknown and in typed fields, answer 2xx or 4xx and never 5xx', async () => {
    const before = await bystander();
    const wrong: unknown[] = [];
    for (const depth of [1, 2, 100, 1_000, 9_999, 10_000, 10_001, 20_000, 100_000]) {
      for (const arrays of [true, false]) {
        const typed = writes(depth, arrays).map((w) => ({ ...w, verb: `${w.verb} (typed field)`, body: w.body.replace('"x":', '"affinity":').replace('/spec/x', '/spec/affinity') }));
        for (const w of [...writes(depth, arrays), ...typed]) {
          const r = await secureRaw(cp, w.method, w.path, w.body, w.contentType);
          if (r.status >= 500 || r.status < 200 || (r.status >= 300 && r.status < 400)) wrong.push({ depth, arrays, verb: w.verb, status: r.status, message: r.body?.message?.slice?.(0, 200) });
          if (w.method === 'POST' && r.status === 201) await cp.client.delete('pods', 'created', { namespace: NS });
          if (depth > 10_000) expect([depth, w.verb, r.status]).toEqual([depth, w.verb, 400]);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect((await secureRaw(cp, 'GET', '/healthz')).status).toBe(200);
    expect(await bystander()).toBe(before);
  });
});

describe('repeated keys', () => {
  const dup = (name: string) => `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"${name}","labels":{"a":"1","a":"2"}},"spec":{"containers":[{"name":"c","image":"busybox","image":"busybox:1.36"}]}}`;
  const base = `/api/v1/namespaces/${NS}/pods`;

  t('fieldValidation=Strict refuses them with 400 on POST and PUT and 422 on patches; Warn keeps the last value and says so; Ignore is silent', async () => {
    const before = await bystander();
    const strictPost = await secureRaw(cp, 'POST', `${base}?fieldValidation=Strict`, dup('dup'));
    expect([strictPost.status, strictPost.body.message]).toEqual([
      400,
      'Pod in version "v1" cannot be handled as a Pod: strict decoding error: duplicate field "metadata.labels.a", duplicate field "spec.containers[0].image"',
    ]);
    const strictPut = await secureRaw(cp, 'PUT', `${base}/target?fieldValidation=Strict`, dup('target'));
    expect(strictPut.status).toBe(400);
    for (const [type, body] of [
      ['application/merge-patch+json', '{"metadata":{"labels":{"b":"1","b":"2"}}}'],
      ['application/strategic-merge-patch+json', '{"metadata":{"labels":{"b":"1","b":"2"}}}'],
    ] as const) {
      const r = await secureRaw(cp, 'PATCH', `${base}/target?fieldValidation=Strict`, body, type);
      expect([type, r.status, r.body.reason, r.body.details?.causes?.[0]?.field]).toEqual([type, 422, 'Invalid', 'patch']);
      expect(r.body.message).toMatch(/strict decoding error: duplicate field "metadata.labels.b"$/);
    }
    const jsonPatch = await secureRaw(cp, 'PATCH', `${base}/target?fieldValidation=Strict`, '[{"op":"add","op":"add","path":"/metadata/labels/b","value":"1"}]', 'application/json-patch+json');
    expect([jsonPatch.status, jsonPatch.body.message]).toEqual([422, expect.stringMatching(/strict decoding error: json patch duplicate field "\[0\]\.op"$/)]);
    expect((await cp.client.get<KubeObject>('pods', 'target', { namespace: NS })).metadata.labels?.b).toBeUndefined();

    const warned = await secureRaw(cp, 'POST', base, dup('dup'));
    expect(warned.status).toBe(201);
    expect(warned.body.metadata.labels).toEqual({ a: '2' });
    expect(warned.body.spec.containers[0].image).toBe('busybox:1.36');
    expect(warned.warnings).toEqual(['299 - "duplicate field \\"metadata.labels.a\\""', '299 - "duplicate field \\"spec.containers[0].image\\""']);
    const patched = await secureRaw(cp, 'PATCH', `${base}/dup`, '{"metadata":{"labels":{"b":"1","b":"2"}}}', 'application/merge-patch+json');
    expect([patched.status, patched.body.metadata.labels, patched.warnings]).toEqual([200, { a: '2', b: '2' }, ['299 - "duplicate field \\"metadata.labels.b\\""']]);
    const ignored = await secureRaw(cp, 'PATCH', `${base}/dup?fieldValidation=Ignore`, '{"metadata":{"labels":{"c":"1","c":"2"}}}', 'application/merge-patch+json');
    expect([ignored.status, ignored.warnings]).toEqual([200, []]);
    await cp.client.delete('pods', 'dup', { namespace: NS });
    expect(await bystander()).toBe(before);
  });
});

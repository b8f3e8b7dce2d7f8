import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  formatTime,
  parseIncludeObject,
  parseTableAccept,
  resourceByName,
  toTable,
  type TableOptions,
  type Binding,
  type DeleteOptions,
  type KubeObject,
  type Pod,
  type ReplicationController,
  type ResourceInfo,
  type Scale,
  type Service,
} from '@pilot/api';
import type { Logger } from '@pilot/common';
import type { Etcd3 } from 'etcd3';
import { bodyFormat, decodeBody, isObject, readBody, type ResourcePath } from './request.js';
import { applyPatch } from './patch.js';
import { checkFields, checkPatchedFields, fieldDirective } from './field-validation.js';
import { badRequest, conflict, invalid, methodNotAllowed, successStatus } from './status.js';
import { itemObject, selection, type Store } from './registry/store.js';
import { encodeList } from './list-encoding.js';
import { serveWatch } from './watch-stream.js';
import { deleteNamespace } from './registry/namespaces.js';
import { cascades, deleteDependents } from './registry/dependents.js';
import type { WatchCaches } from './watch.js';
import type { EventRecorder, Involved } from './events.js';
import { recordServiceWrite } from './service-events.js';
import type { KubeletProxy } from './kubelet-proxy.js';

/**
 * Resource requests: maps method + path + query onto the Store. Returns the
 * verb (for metrics); replies are written here, errors thrown as StatusError.
 */

export interface HandlerDeps {
  store: Store;
  caches: WatchCaches;
  /** A fresh etcd client, for watches that need their own stream. */
  connect: () => Etcd3;
  log: Logger;
  onWatchers: (delta: number) => void;
  events: EventRecorder;
  kubelets: KubeletProxy;
  /** BOOKMARK interval of watches that allow them (default: watch-stream's). */
  bookmarkIntervalMs?: number;
}

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection' | 'connect';

export function verbOf(method: string, p: ResourcePath, q: URLSearchParams): Verb {
  const watch = q.get('watch') === 'true' || q.get('watch') === '1';
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (p.subresource === 'log' || p.subresource === 'exec') return 'connect';
      return p.name === undefined ? (watch ? 'watch' : 'list') : 'get';
    case 'POST':
      if (p.subresource === 'exec') return 'connect';
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return p.name === undefined ? 'deletecollection' : 'delete';
    default:
      return 'get';
  }
}

export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A JSON body already encoded. */
export function sendBytes(res: ServerResponse, code: number, body: Buffer): void {
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw badRequest(`invalid ${name} "${v}": must be a non-negative integer`);
  return n;
}

async function jsonBody(req: IncomingMessage): Promise<unknown> {
  const format = bodyFormat(req.headers['content-type']);
  if (format !== 'json' && format !== 'yaml' && format !== 'protobuf') throw badRequest(`${req.method} needs a JSON, YAML or protobuf body`);
  return decodeBody(await readBody(req), format);
}

export async function handleResource(req: IncomingMessage, res: ServerResponse, p: ResourcePath, q: URLSearchParams, deps: HandlerDeps): Promise<Verb> {
  const { store } = deps;
  const r = p.resource;
  const method = req.method ?? 'GET';
  const verb = verbOf(method, p, q);
  const ns = r.namespaced ? p.namespace : undefined;
  const what = `${r.resource}${p.subresource ? `/${p.subresource}` : ''}`;

  if (p.subresource === 'log') {
    if (method !== 'GET') throw methodNotAllowed(method, what);
    await deps.kubelets.serveLog(req, res, ns!, p.name!, q);
    return verb;
  }
  if (p.subresource === 'exec') {
    // The stream itself arrives as an HTTP upgrade (server.ts); a plain request can only learn why it would fail.
    await deps.kubelets.locate('exec', ns!, p.name!, q);
    throw badRequest('exec needs an upgrade to a streaming protocol (websocket v5.channel.k8s.io)');
  }
  if (p.subresource === 'binding') {
    if (method !== 'POST') throw methodNotAllowed(method, what);
    const bound = await bind(store, ns!, p.name!, await jsonBody(req));
    await deps.events.record(bound, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${p.name} to ${bound.spec?.nodeName}`);
    sendJson(res, 201, successStatus(undefined, 201));
    return verb;
  }
  if (p.subresource === 'scale') {
    sendJson(res, 200, await scale(req, store, r, ns, p.name!, deps.events));
    return verb;
  }

  if (p.subresource === 'status' && method !== 'GET' && method !== 'HEAD' && method !== 'PUT' && method !== 'PATCH') throw methodNotAllowed(method, `${what}`);

  switch (method) {
    case 'GET':
    case 'HEAD': {
      const table = tableRequest(req, q);
      if (p.name !== undefined) {
        const obj = await store.get(r, ns, p.name);
        sendJson(res, 200, table ? toTable(r, [obj], { ...table, resourceVersion: obj.metadata.resourceVersion! }) : obj);
        return verb;
      }
      if (verb === 'watch') {
        await serveWatch(
          res,
          {
            resource: r,
            ...(ns !== undefined ? { namespace: ns } : {}),
            sel: selection(r, q.get('labelSelector') ?? '', q.get('fieldSelector') ?? ''),
            ...(q.get('resourceVersion') !== null ? { resourceVersion: q.get('resourceVersion')! } : {}),
            ...(intParam(q, 'timeoutSeconds') !== undefined ? { timeoutSeconds: intParam(q, 'timeoutSeconds')! } : {}),
            bookmarks: q.get('allowWatchBookmarks') === 'true',
            ...(table ? { table } : {}),
          },
          {
            store,
            caches: deps.caches,
            connect: deps.connect,
            onOpen: deps.onWatchers,
            ...(deps.bookmarkIntervalMs !== undefined ? { bookmarkIntervalMs: deps.bookmarkIntervalMs } : {}),
          },
        );
        return verb;
      }
      const limit = intParam(q, 'limit');
      const list = await store.listRaw(r, ns, {
        labelSelector: q.get('labelSelector') ?? '',
        fieldSelector: q.get('fieldSelector') ?? '',
        ...(limit !== undefined ? { limit } : {}),
        ...(q.get('continue') ? { continue: q.get('continue')! } : {}),
      });
      if (table) {
        sendJson(res, 200, toTable(r, list.items.map((i) => itemObject(r, i)), { ...table, ...list.metadata }));
        return verb;
      }
      // Encoded from the stored bytes; the same bytes as JSON.stringify of the decoded list.
      const body = encodeList(list, { apiVersion: list.apiVersion, kind: r.kind }, list.items, (i) => JSON.stringify(itemObject(r, i)));
      sendBytes(res, 200, body);
      return verb;
    }
    case 'POST': {
      if (p.name !== undefined) throw methodNotAllowed(method, `${what}/${p.name}`);
      const fv = fieldDirective(q);
      const body = checkFields(res, r, undefined, await jsonBody(req), fv);
      const create = () => store.create(r, ns, body);
      sendJson(res, 201, r.resource === 'services' ? await recordServiceWrite(deps.events, involvedFromBody(r, ns, body), undefined, create) : await create());
      return verb;
    }
    case 'PUT': {
      if (p.name === undefined) throw methodNotAllowed(method, what);
      const fv = fieldDirective(q);
      const body = checkFields(res, r, p.subresource, await jsonBody(req), fv);
      const update = () => store.update(r, ns, p.name!, body, p.subresource);
      sendJson(res, 200, await withServiceEvents(deps, r, ns, p.name, p.subresource, update));
      return verb;
    }
    case 'PATCH': {
      if (p.name === undefined) throw methodNotAllowed(method, what);
      const format = bodyFormat(req.headers['content-type']);
      if (format === 'json' || format === 'yaml' || format === 'protobuf') throw badRequest(`PATCH needs a patch Content-Type (application/merge-patch+json, application/strategic-merge-patch+json or application/json-patch+json)`);
      const patch = decodeBody(await readBody(req), 'json');
      const fv = fieldDirective(q);
      const check = (next: KubeObject, cur: KubeObject) => checkPatchedFields(res, r, p.subresource, next, cur, fv);
      const write = () => store.patch(r, ns, p.name!, format, patch, p.subresource, check);
      sendJson(res, 200, await withServiceEvents(deps, r, ns, p.name, p.subresource, write));
      return verb;
    }
    case 'DELETE': {
      const raw = await readBody(req);
      const opts = deleteOptions(raw, q);
      if (p.name === undefined) {
        const list = await store.list(r, ns, { labelSelector: q.get('labelSelector') ?? '', fieldSelector: q.get('fieldSelector') ?? '' });
        const items: KubeObject[] = [];
        for (const obj of list.items) {
          try {
            items.push(await store.delete(r, obj.metadata.namespace, obj.metadata.name!, opts));
          } catch (err) {
            deps.log.debug({ resource: r.resource, name: obj.metadata.name, err: String(err) }, 'deletecollection: item skipped');
          }
        }
        sendJson(res, 200, { ...list, items });
        return verb;
      }
      if (r.resource === 'namespaces') {
        sendJson(res, 200, await deleteNamespace(store, p.name, deps.log));
        return verb;
      }
      const deleted = await store.delete(r, ns, p.name, opts);
      // Dependents go once the owner is really gone (not while a pod is only marked for deletion).
      if (cascades(opts) && !deleted.metadata.deletionTimestamp) await deleteDependents(store, r, deleted, deps.log);
      sendJson(res, 200, deleted);
      return verb;
    }
    default:
      throw methodNotAllowed(method, what);
  }
}

/** A Service spec update records what it newly reserved (it reads the old object first); other writes run as they are. */
async function withServiceEvents(
  deps: HandlerDeps,
  r: ResourceInfo,
  ns: string | undefined,
  name: string,
  subresource: string | undefined,
  write: () => Promise<KubeObject>,
): Promise<KubeObject> {
  if (r.resource !== 'services' || subresource) return write();
  const before = (await deps.store.get(r, ns, name)) as Service;
  return recordServiceWrite(deps.events, before, before, write);
}

function involvedFromBody(r: ResourceInfo, ns: string | undefined, body: unknown): Involved {
  const meta = isObject(body) && isObject(body.metadata) ? body.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : typeof meta.generateName === 'string' ? meta.generateName : '';
  return { kind: r.kind, apiVersion: 'v1', name, ...(ns ? { namespace: ns } : {}) };
}

/**
 * `Accept: application/json;as=Table;g=meta.k8s.io;v=v1` (kubectl get): the
 * answer is a Table with the resource's columns (printers in @pilot/api).
 */
function tableRequest(req: IncomingMessage, q: URLSearchParams): Pick<TableOptions, 'apiVersion' | 'includeObject'> | undefined {
  const t = parseTableAccept(req.headers.accept);
  if (!t) return undefined;
  let includeObject: TableOptions['includeObject'];
  try {
    includeObject = parseIncludeObject(q.get('includeObject'));
  } catch (err) {
    throw badRequest((err as Error).message);
  }
  return { apiVersion: t.apiVersion, includeObject };
}

/** DeleteOptions from the body (kubectl sends one) and the gracePeriodSeconds query. */
function deleteOptions(raw: Buffer, q: URLSearchParams): DeleteOptions {
  let opts: DeleteOptions = {};
  if (raw.length > 0 && raw.toString().trim() !== '') {
    const body = decodeBody(raw, 'json');
    if (!isObject(body)) throw badRequest('DeleteOptions must be a JSON object');
    opts = body as DeleteOptions;
  }
  const g = intParam(q, 'gracePeriodSeconds');
  if (g !== undefined) opts.gracePeriodSeconds = g;
  if (opts.gracePeriodSeconds !== undefined && (!Number.isInteger(opts.gracePeriodSeconds) || opts.gracePeriodSeconds < 0))
    throw badRequest(`gracePeriodSeconds must be a non-negative integer`);
  return opts;
}

// ------------------------------------------------------------------ binding

/**
 * pods/binding: sets spec.nodeName exactly once (the scheduler's write),
 * with the PodScheduled condition; a bound or terminating pod is 409.
 */
async function bind(store: Store, ns: string, name: string, body: unknown): Promise<Pod> {
  const b = body as Binding;
  const target = isObject(body) && isObject(body.target) ? b.target : undefined;
  if (!target?.name) throw invalid('Binding', name, [{ type: 'FieldValueRequired', field: 'target.name', message: 'Required value' }]);
  if (b.metadata?.name && b.metadata.name !== name) throw badRequest(`the binding's name (${b.metadata.name}) does not match the pod (${name})`);
  if (target.kind && target.kind !== 'Node') throw invalid('Binding', name, [{ type: 'FieldValueNotSupported', field: 'target.kind', message: `Unsupported value: "${target.kind}": supported values: "Node"` }]);
  const podResource = resourceByName('pods')!;
  return (await store.mutate(
    podResource,
    ns,
    name,
    undefined,
    (cur) => {
      const pod = cur as Pod;
      if (pod.metadata.deletionTimestamp) throw conflict('pods', name, 'the pod is being deleted');
      if (pod.spec?.nodeName) throw conflict('pods', name, `pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
      pod.spec = { ...(pod.spec ?? { containers: [] }), nodeName: target.name! };
      const status = (pod.status ??= {});
      const conditions = (status.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
      conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: formatTime() });
      status.conditions = conditions;
      return pod;
    },
    'binding',
  )) as Pod;
}

// ------------------------------------------------------------------ scale

function scaleOf(rc: ReplicationController): Scale {
  const selector = Object.entries(rc.spec?.selector ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: rc.metadata.name!,
      namespace: rc.metadata.namespace!,
      uid: rc.metadata.uid!,
      resourceVersion: rc.metadata.resourceVersion!,
      creationTimestamp: rc.metadata.creationTimestamp!,
    },
    spec: { replicas: rc.spec?.replicas ?? 0 },
    status: { replicas: rc.status?.replicas ?? 0, selector },
  };
}

/** replicationcontrollers/scale: GET, PUT (no Content-Type = JSON) and PATCH of spec.replicas. */
async function scale(req: IncomingMessage, store: Store, r: ResourceInfo, ns: string | undefined, name: string, events: EventRecorder): Promise<Scale> {
  const method = req.method ?? 'GET';
  if (method === 'GET') return scaleOf((await store.get(r, ns, name)) as ReplicationController);
  let desired: Scale;
  let wantRv: number | undefined;
  if (method === 'PUT') {
    desired = (await jsonBody(req)) as Scale;
    if (!isObject(desired)) throw badRequest('the body must be a Scale object');
  } else if (method === 'PATCH') {
    const format = bodyFormat(req.headers['content-type']);
    if (format === 'json' || format === 'yaml' || format === 'protobuf') throw badRequest('PATCH needs a patch Content-Type');
    const patch = decodeBody(await readBody(req), 'json');
    const cur = scaleOf((await store.get(r, ns, name)) as ReplicationController);
    desired = applyPatch(format, cur, patch, 'Scale', 'autoscaling/v1') as Scale;
    if (isObject(patch) && isObject(patch.metadata) && typeof patch.metadata.resourceVersion === 'string') wantRv = Number(patch.metadata.resourceVersion);
  } else throw methodNotAllowed(method, `${r.resource}/scale`);
  if (method === 'PUT' && desired.metadata?.resourceVersion) wantRv = Number(desired.metadata.resourceVersion);
  const replicas = desired.spec?.replicas;
  if (!Number.isInteger(replicas) || (replicas as number) < 0)
    throw invalid('Scale', name, [{ type: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` }]);
  let before = 0;
  const updated = await store.mutate(r, ns, name, wantRv, (cur) => {
    const rc = cur as ReplicationController;
    before = rc.spec?.replicas ?? 0;
    rc.spec = { ...(rc.spec ?? {}), replicas: replicas! };
    return rc;
  });
  if (before !== replicas) await events.record(updated, 'Normal', 'ScalingReplicationController', `Scaled replication controller ${name} from ${before} to ${replicas}`);
  return scaleOf(updated as ReplicationController);
}

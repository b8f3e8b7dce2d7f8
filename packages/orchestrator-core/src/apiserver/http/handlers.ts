import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { bodyKindOf, isObject, parseIncludeObject, type FieldValidation, parseTableAccept, toTable, type DeleteOptions, type KubeObject, type TableOptions } from '@pilot/api';
import type { Logger } from '@pilot/common';
import { itemObject, selection, type GenericRegistry } from '../registry/generic-registry.js';
import type { PatchRequest } from '../registry/access.js';
import type { Subresource, SubresourceCall } from '../registry/subresources.js';
import { badRequest, methodNotAllowed, pathNotFound } from '../status.js';
import { checkFields, checkPatchDuplicates, checkPatchedFields, fieldDirective, wantsDuplicates } from './field-validation.js';
import { spliceUpgrade, streamFrom, type KubeletTransport } from './kubelet-proxy.js';
import { encodeList } from './list-encoding.js';
import { listOptions } from './list-options.js';
import { bodyFormat, decodeBody, decodeRequestBody, readBody, type DecodedBody, type ResourcePath } from './request.js';
import { serveWatch } from './watch-stream.js';

/**
 * Resource requests: method + path + query onto the generic registry, by verb
 * alone. Every resource is served the same way; what differs per resource or
 * subresource lives in the registry (strategies, the subresource table).
 * Returns the verb (for metrics); replies are written here, errors thrown as
 * StatusError.
 */

export interface HandlerDeps {
  registry: GenericRegistry;
  log: Logger;
  /** How connect subresources reach kubelets (TLS credentials). */
  kubelets: KubeletTransport;
  onWatchers: (delta: number) => void;
  /** BOOKMARK interval of watches that allow them (default: watch-stream's). */
  bookmarkIntervalMs?: number;
}

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection' | 'connect';

export function verbOf(method: string, p: ResourcePath, q: URLSearchParams, sub?: Subresource): Verb {
  if (sub?.connect) return 'connect';
  const watch = q.get('watch') === 'true' || q.get('watch') === '1';
  switch (method) {
    case 'GET':
    case 'HEAD':
      return p.name === undefined ? (watch ? 'watch' : 'list') : 'get';
    case 'POST':
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

/** An object body (POST, PUT): JSON, YAML or protobuf, with its repeated keys when field validation wants them. */
async function jsonBody(req: IncomingMessage, kind: string, fv: FieldValidation): Promise<DecodedBody> {
  const format = bodyFormat(req.headers['content-type']);
  if (format !== 'json' && format !== 'yaml' && format !== 'protobuf') throw badRequest(`${req.method} needs a JSON, YAML or protobuf body`);
  return decodeRequestBody(await readBody(req), format, { role: { kind }, duplicates: wantsDuplicates(fv) });
}

interface DecodedPatch extends PatchRequest {
  duplicates: string[];
}

async function patchBody(req: IncomingMessage, fv: FieldValidation): Promise<DecodedPatch> {
  const format = bodyFormat(req.headers['content-type']);
  if (format === 'json' || format === 'yaml' || format === 'protobuf')
    throw badRequest(`PATCH needs a patch Content-Type (application/merge-patch+json, application/strategic-merge-patch+json or application/json-patch+json)`);
  const body = decodeRequestBody(await readBody(req), 'json', { role: { patch: format }, duplicates: wantsDuplicates(fv) });
  return { type: format, patch: body.value, duplicates: body.duplicates };
}

export async function handleResource(req: IncomingMessage, res: ServerResponse, p: ResourcePath, q: URLSearchParams, deps: HandlerDeps): Promise<Verb> {
  if (p.subresource !== undefined) return handleSubresource(req, res, p, q, deps);
  const { registry } = deps;
  const r = p.resource;
  const method = req.method ?? 'GET';
  const verb = verbOf(method, p, q);
  const ns = r.namespaced ? p.namespace : undefined;

  switch (method) {
    case 'GET':
    case 'HEAD': {
      const table = tableRequest(req, q);
      if (p.name !== undefined) {
        const obj = await registry.get(r, ns, p.name);
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
          { registry, onOpen: deps.onWatchers, ...(deps.bookmarkIntervalMs !== undefined ? { bookmarkIntervalMs: deps.bookmarkIntervalMs } : {}) },
        );
        return verb;
      }
      const limit = intParam(q, 'limit');
      const list = await registry.listRaw(r, ns, listOptions(q, limit));
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
      if (p.name !== undefined) throw methodNotAllowed(method, `${r.resource}/${p.name}`);
      const fv = fieldDirective(q);
      const decoded = await jsonBody(req, r.kind, fv);
      const body = checkFields(res, r, undefined, decoded.value, fv, decoded.duplicates);
      sendJson(res, 201, await registry.create(r, ns, body));
      return verb;
    }
    case 'PUT': {
      if (p.name === undefined) throw methodNotAllowed(method, r.resource);
      const fv = fieldDirective(q);
      const decoded = await jsonBody(req, r.kind, fv);
      const body = checkFields(res, r, undefined, decoded.value, fv, decoded.duplicates);
      sendJson(res, 200, await registry.update(r, ns, p.name, body));
      return verb;
    }
    case 'PATCH': {
      if (p.name === undefined) throw methodNotAllowed(method, r.resource);
      const fv = fieldDirective(q);
      const patch = await patchBody(req, fv);
      checkPatchDuplicates(res, patch.type, patch.patch, patch.duplicates, fv);
      const check = (next: KubeObject, cur: KubeObject) => checkPatchedFields(res, r, undefined, next, cur, fv);
      sendJson(res, 200, await registry.patch(r, ns, p.name, { type: patch.type, patch: patch.patch }, { check }));
      return verb;
    }
    case 'DELETE': {
      const opts = deleteOptions(await readBody(req), q);
      if (p.name === undefined) {
        sendJson(res, 200, await registry.deleteCollection(r, ns, { labelSelector: q.get('labelSelector') ?? '', fieldSelector: q.get('fieldSelector') ?? '' }, opts));
        return verb;
      }
      sendJson(res, 200, await registry.delete(r, ns, p.name, opts));
      return verb;
    }
    default:
      throw methodNotAllowed(method, r.resource);
  }
}

/** `<resource>/<name>/<sub>`: the verb picks the subresource's method; one it lacks is 405. */
async function handleSubresource(req: IncomingMessage, res: ServerResponse, p: ResourcePath, q: URLSearchParams, deps: HandlerDeps): Promise<Verb> {
  const r = p.resource;
  const what = `${r.resource}/${p.subresource}`;
  const sub = deps.registry.subresource(r, p.subresource!);
  if (!sub || p.name === undefined) throw pathNotFound(`${r.resource}/${p.subresource}`);
  const method = req.method ?? 'GET';
  const verb = verbOf(method, p, q, sub);
  const fv = fieldDirective(q);
  // Filled once the body is decoded; the call's field checks report them.
  const duplicates: string[] = [];
  const call = subresourceCall(p, q, res, duplicates);
  const ctx = deps.registry.ctx;
  const kind = bodyKindOf(`${r.resource}/${p.subresource}`)?.kind ?? r.kind;
  const objectBody = async () => {
    const decoded = await jsonBody(req, kind, fv);
    duplicates.push(...decoded.duplicates);
    return decoded.value;
  };

  if (sub.connect) {
    if (!sub.connect.methods.includes(method)) throw methodNotAllowed(method, what);
    const target = await sub.connect.locate(call, ctx);
    // The stream itself arrives as an HTTP upgrade (server.ts); a plain request can only learn why it would fail.
    if (sub.connect.upgrade) throw badRequest(`${p.subresource} needs an upgrade to a streaming protocol (websocket ${p.subresource === 'portforward' ? 'SPDY/3.1+portforward.k8s.io' : 'v5.channel.k8s.io'}, or SPDY/3.1)`);
    await streamFrom(res, target, deps.kubelets);
    return verb;
  }
  switch (method) {
    case 'GET':
    case 'HEAD': {
      if (!sub.get) break;
      const obj = await sub.get(call, ctx);
      const table = obj.kind === r.kind ? tableRequest(req, q) : undefined;
      sendJson(res, 200, table ? toTable(r, [obj], { ...table, resourceVersion: obj.metadata.resourceVersion! }) : obj);
      return verb;
    }
    case 'PUT':
      if (!sub.update) break;
      sendJson(res, 200, await sub.update(call, await objectBody(), ctx));
      return verb;
    case 'PATCH':
      if (!sub.patch) break;
      const patch = await patchBody(req, fv);
      checkPatchDuplicates(res, patch.type, patch.patch, patch.duplicates, fv);
      sendJson(res, 200, await sub.patch(call, { type: patch.type, patch: patch.patch }, ctx));
      return verb;
    case 'POST': {
      if (!sub.create) break;
      const reply = await sub.create(call, await objectBody(), ctx);
      sendJson(res, reply.code, reply.body);
      return verb;
    }
  }
  throw methodNotAllowed(method, what);
}

/** What a subresource gets of a request; field validation answers its warnings on `res`. */
function subresourceCall(p: ResourcePath, q: URLSearchParams, res?: ServerResponse, duplicates: readonly string[] = []): SubresourceCall {
  const r = p.resource;
  const fv = fieldDirective(q);
  return {
    resource: r,
    namespace: r.namespaced ? p.namespace : undefined,
    name: p.name!,
    query: q,
    checkFields: (obj) => (res ? checkFields(res, r, p.subresource, obj, fv, duplicates) : obj),
    checkPatched: (next, cur) => (res ? checkPatchedFields(res, r, p.subresource, next, cur, fv) : next),
  };
}

/**
 * An HTTP upgrade (kubectl exec's websocket or SPDY): served only for a
 * connect subresource that streams over one (pods/exec), spliced to where the
 * registry locates it. Errors are thrown before anything is spliced.
 */
export async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, p: ResourcePath | undefined, rawPath: string, q: URLSearchParams, deps: Pick<HandlerDeps, 'registry' | 'log' | 'kubelets'>): Promise<void> {
  const sub = p?.subresource !== undefined && p.name !== undefined ? deps.registry.subresource(p.resource, p.subresource) : undefined;
  if (!p || !sub?.connect?.upgrade) throw badRequest(`upgrade is only served for streaming subresources such as pods/exec, not ${rawPath}`);
  if (!sub.connect.methods.includes(req.method ?? 'GET')) throw methodNotAllowed(req.method ?? 'GET', `${p.resource.resource}/${p.subresource}`);
  const target = await sub.connect.locate(subresourceCall(p, q), deps.registry.ctx);
  await spliceUpgrade(req, socket, head, target, deps.kubelets, deps.log);
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
  // The query parameters kube-apiserver also takes for these fields.
  const policy = q.get('propagationPolicy');
  if (policy !== null && policy !== '') opts.propagationPolicy = policy;
  const orphan = q.get('orphanDependents');
  if (orphan === 'true' || orphan === 'false') opts.orphanDependents = orphan === 'true';
  if (opts.gracePeriodSeconds !== undefined && (!Number.isInteger(opts.gracePeriodSeconds) || opts.gracePeriodSeconds < 0))
    throw badRequest(`gracePeriodSeconds must be a non-negative integer`);
  return opts;
}

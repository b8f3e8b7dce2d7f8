import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import * as api from '@pilot/api';
import { decodeKubernetesProtobuf, jsonDepth, MAX_JSON_DEPTH, PROTOBUF_CONTENT_TYPE, scanJson, tooDeepMessage, ProtobufError, RESOURCES, UnknownProtobufKindError, type ResourceInfo } from '@pilot/api';
import { badRequest, fromStatus, pathNotFound, pathSegmentError, tooLarge, unsupportedMediaType } from '../status.js';
import type { PatchType } from '../registry/patch.js';

/** etcd's default request limit; a bigger object could never be stored. */
export const MAX_BODY_BYTES = 1.5 * 1024 * 1024;

/** A parsed resource URL: /api/v1[/namespaces/{ns}]/{resource}[/{name}[/{sub}]] or /apis/{g}/{v}/... */
export interface ResourcePath {
  resource: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/**
 * A request target as sent, split without normalising: `new URL()` would
 * remove dot-segments (`%2E%2E` included) and so turn
 * `DELETE .../namespaces/victim/pods/%2E%2E` into a delete of the namespace.
 * Here `..` stays a segment, which resource paths refuse (parseResourcePath).
 */
export interface RequestTarget {
  /** The path exactly as sent (absolute-form `http://host` stripped). */
  rawPath: string;
  /** The segments percent-decoded one by one and joined: for exact matches (`/healthz`, discovery). */
  path: string;
  query: URLSearchParams;
}

export function parseRequestTarget(url: string): RequestTarget {
  let target = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '');
  const hash = target.indexOf('#');
  if (hash >= 0) target = target.slice(0, hash);
  const q = target.indexOf('?');
  const rawPath = (q >= 0 ? target.slice(0, q) : target) || '/';
  const query = new URLSearchParams(q >= 0 ? target.slice(q + 1) : '');
  // Lenient here (a malformed escape stays as sent): this runs before authentication.
  const path = rawPath
    .split('/')
    .map((seg) => {
      try {
        return decodeURIComponent(seg);
      } catch {
        return seg;
      }
    })
    .join('/');
  return { rawPath, path, query };
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw badRequest(`malformed percent-encoding in the URL path segment "${s}"`);
  }
}

/** Segments of a raw path, each decoded; the leading and one trailing slash do not make segments. */
function pathSegments(rawPath: string): string[] {
  const parts = rawPath.split('/');
  if (parts[0] === '') parts.shift();
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts.map(decodeSegment);
}

/** 400 unless `s` can be one path segment (kube-apiserver's registry key functions answer the same). */
function checkSegment(s: string, what: 'Name' | 'Namespace'): void {
  const bad = pathSegmentError(what, s);
  if (bad) throw bad;
}

/**
 * Maps a raw (not normalised, not decoded) path to a resource. Returns
 * undefined for paths that are not resource paths (discovery, health),
 * throws 400 for a name or namespace that is not one path segment (`.`,
 * `..`, an encoded `/`) before anything is resolved, 404 for unknown resources.
 */
export function parseResourcePath(rawPath: string): ResourcePath | undefined {
  const segs = pathSegments(rawPath);
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 3) {
    group = '';
    version = segs[1]!;
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 4) {
    group = segs[1]!;
    version = segs[2]!;
    rest = segs.slice(3);
  } else return undefined;
  const find = (plural: string) => RESOURCES.find((r) => r.group === group && r.version === version && r.resource === plural);
  // namespaces/{ns}/{resource}... is a namespaced path unless {resource} is
  // not a namespaced resource (then it is the namespace's own subresource).
  const namespacedPath = rest[0] === 'namespaces' && rest.length >= 3 && find(rest[2]!)?.namespaced === true;
  // No segment may step out of the path (a dot-segment) or hide a separator, wherever it is.
  segs.forEach((s, i) => {
    if (s === '.' || s === '..' || s.includes('/')) checkSegment(s, namespacedPath && i === segs.length - rest.length + 1 ? 'Namespace' : 'Name');
  });
  if (segs.includes('')) throw pathNotFound(rawPath);
  let namespace: string | undefined;
  if (namespacedPath) {
    namespace = rest[1]!;
    checkSegment(namespace, 'Namespace');
    rest = rest.slice(2);
  }
  const resource = find(rest[0]!);
  if (!resource || rest.length > 3) throw pathNotFound(rawPath);
  if (namespace !== undefined && !resource.namespaced) throw pathNotFound(rawPath);
  const out: ResourcePath = { resource };
  if (namespace !== undefined) out.namespace = namespace;
  if (rest[1] !== undefined) {
    checkSegment(rest[1], 'Name');
    out.name = rest[1];
  }
  if (rest[2] !== undefined) {
    if (!resource.subresources.includes(rest[2])) throw pathNotFound(rawPath);
    out.subresource = rest[2];
  }
  return out;
}

export type BodyFormat = 'json' | 'yaml' | 'protobuf' | PatchType;

/** The body format from Content-Type; no Content-Type is JSON (kubectl scale's PUT sends none). */
export function bodyFormat(contentType: string | undefined): BodyFormat {
  const t = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  switch (t) {
    case '':
    case 'application/json':
    case '*/*':
      return 'json';
    case 'application/yaml':
    case 'application/x-yaml':
    case 'text/yaml':
      return 'yaml';
    case PROTOBUF_CONTENT_TYPE:
      // kubectl's typed-client commands (create namespace/service) send this.
      return 'protobuf';
    case 'application/merge-patch+json':
      return 'merge-patch';
    case 'application/strategic-merge-patch+json':
      return 'strategic-merge-patch';
    case 'application/json-patch+json':
      return 'json-patch';
    default:
      throw unsupportedMediaType(t);
  }
}

/**
 * Reads the whole body, refusing (413) anything over the limit. A body
 * without Content-Length is drained past the limit without being kept, so the
 * client still reads the 413 instead of a reset connection.
 */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => (size > limit ? reject(tooLarge(limit)) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

/**
 * What a body is decoded as, for kube-apiserver's words when it cannot be:
 * an object of a kind (POST, PUT), a patch of a type, or options (DELETE).
 */
export type BodyRole = { kind: string } | { patch: PatchType } | 'options';

export interface DecodedBody {
  value: unknown;
  /** Repeated object keys as field paths (JSON bodies, when asked for): the last value is the one kept. */
  duplicates: string[];
}

/**
 * Decodes a JSON, YAML or Kubernetes-protobuf body into a plain object;
 * malformed input is 400. A protobuf body becomes the object the JSON path
 * would have parsed, so everything after this is the JSON path; a protobuf
 * kind without a description is 415 naming the kind.
 */
export function decodeBody(buf: Buffer, format: BodyFormat): unknown {
  return decodeRequestBody(buf, format).value;
}

/**
 * decodeBody, bounded as kube-apiserver's decoder is: input nested deeper
 * than 10,000 levels is 400 with upstream's message for the body's role
 * (before JSON.parse, which would take it, builds anything); with
 * `duplicates`, repeated keys are reported for field validation.
 */
export function decodeRequestBody(buf: Buffer, format: BodyFormat, opts: { role?: BodyRole; duplicates?: boolean } = {}): DecodedBody {
  const role = opts.role ?? 'options';
  if (format === 'protobuf') return { value: decodeProtobuf(buf), duplicates: [] };
  const text = buf.toString('utf8');
  if (text.trim() === '') throw badRequest('the request body is empty');
  let duplicates: string[] = [];
  if (format !== 'yaml') {
    const scan = scanJson(text, { duplicates: opts.duplicates === true });
    if (scan.tooDeep) throw badRequest(tooDeepText(role, scan.tooDeep, buf));
    duplicates = scan.duplicates;
  }
  let value: unknown;
  try {
    value = format === 'yaml' ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw badRequest(`the body could not be decoded as ${format === 'yaml' ? 'YAML' : 'JSON'}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
  // YAML nests without brackets; its parsed form is held to the same limit.
  if (format === 'yaml' && jsonDepth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) throw badRequest(tooDeepText(role, '[', buf));
  return { value, duplicates };
}

/** kube-apiserver's answer to a body nested past the limit, by what the body is. */
function tooDeepText(role: BodyRole, bracket: '{' | '[', body: Buffer): string {
  const why = tooDeepMessage(bracket);
  if (role === 'options') return why;
  if ('patch' in role) return role.patch === 'strategic-merge-patch' ? why : `error decoding patch: ${why}`;
  return `the object provided is unrecognized (must be of type ${role.kind}): couldn't get version/kind; json parse error: ${why} (${summarizeData(body, 30)})`;
}

/** apiserver's summarizeData: a JSON object's first characters, anything else in hex. */
function summarizeData(data: Buffer, max: number): string {
  if (data.length === 0) return '<empty>';
  const head = data.subarray(0, max);
  const more = data.length > max ? ' ...' : '';
  return data[0] === 0x7b ? `${head.toString('utf8')}${more}` : `${head.toString('hex')}${more}`;
}

function decodeProtobuf(buf: Buffer): unknown {
  if (buf.length === 0) throw badRequest('the request body is empty');
  try {
    return decodeKubernetesProtobuf(buf);
  } catch (err) {
    if (err instanceof UnknownProtobufKindError) throw fromStatus(api.statusFor(415, 'UnsupportedMediaType', err.message));
    if (err instanceof ProtobufError) throw badRequest(`the body could not be decoded as protobuf: ${err.message}`);
    throw err;
  }
}

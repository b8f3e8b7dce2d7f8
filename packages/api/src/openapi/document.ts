/**
 * The OpenAPI v3 documents kubectl 1.32 downloads before `create`, `apply`,
 * `replace` and `edit`: the `/openapi/v3` index and one document per group
 * version, generated from the schema table (definitions.ts) and the resource
 * table (resources.ts).
 *
 * What kubectl does with them: its query-parameter verifier looks for the
 * PATCH operation whose `x-kubernetes-group-version-kind` is the object's
 * kind and, when that operation lists the `fieldValidation` parameter, skips
 * client-side validation and sends `fieldValidation=Strict` for the server
 * to enforce (see unknownFields). The PATCH request bodies deliberately leave
 * out `application/strategic-merge-patch+json`: kubectl then builds apply
 * patches from its compiled-in types instead of from these schemas.
 */
import { createHash } from 'node:crypto';
import { apiVersionOf, groupVersionPath, groupVersions, RESOURCES, SUBRESOURCE_KINDS, type ResourceInfo } from '../resources.js';
import { DEFINITIONS, definitionForKind } from './definitions.js';
import type { FieldSchema, StructSchema } from './schema.js';

type Json = Record<string, unknown>;

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const TIME = `${META}.Time`;
const MICRO_TIME = `${META}.MicroTime`;
const PATCH = `${META}.Patch`;
const STATUS = `${META}.Status`;
const DELETE_OPTIONS = `${META}.DeleteOptions`;

/** Schemas of the scalar helper types and the meta types operations refer to. */
const EXTRA_SCHEMAS: Record<string, Json> = {
  [INT_OR_STRING]: {
    description: 'IntOrString is a type that can hold an int32 or a string.',
    type: 'string',
    format: 'int-or-string',
    'x-kubernetes-int-or-string': true,
  },
  [QUANTITY]: {
    description: 'Quantity is a fixed-point representation of a number, e.g. "100m", "64Mi" or 2.',
    type: 'string',
    'x-kubernetes-int-or-string': true,
  },
  [TIME]: { description: 'Time with second precision, RFC 3339.', type: 'string', format: 'date-time' },
  [MICRO_TIME]: { description: 'MicroTime: RFC 3339 with exactly 6 fractional digits.', type: 'string', format: 'date-time' },
  [PATCH]: { description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.', type: 'object' },
  [STATUS]: {
    description: 'Status is a return value for calls that do not return other objects.',
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      code: { type: 'integer', format: 'int32' },
      details: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      message: { type: 'string' },
      metadata: { allOf: [{ $ref: `#/components/schemas/${META}.ListMeta` }], default: {} },
      reason: { type: 'string' },
      status: { type: 'string' },
    },
    'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'Status' }],
  },
  [DELETE_OPTIONS]: {
    description: 'DeleteOptions may be provided when deleting an API object.',
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      gracePeriodSeconds: { type: 'integer', format: 'int64' },
      propagationPolicy: { type: 'string' },
      preconditions: { type: 'object', properties: { resourceVersion: { type: 'string' }, uid: { type: 'string' } } },
      dryRun: { type: 'array', items: { type: 'string' } },
    },
  },
};

const refTo = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

function fieldToOpenApi(f: FieldSchema): Json {
  const desc = f.description ? { description: f.description } : {};
  switch (f.type) {
    case 'string':
      return { ...desc, type: 'string', ...(f.format ? { format: f.format } : {}), ...(f.enum ? { enum: [...f.enum] } : {}) };
    case 'integer':
      return { ...desc, type: 'integer', format: f.format };
    case 'number':
      return { ...desc, type: 'number', format: 'double' };
    case 'boolean':
      return { ...desc, type: 'boolean' };
    case 'int-or-string':
      return { ...desc, allOf: [refTo(INT_OR_STRING)] };
    case 'quantity':
      return { ...desc, allOf: [refTo(QUANTITY)] };
    case 'time':
      return { ...desc, allOf: [refTo(f.micro ? MICRO_TIME : TIME)] };
    case 'ref':
      return { ...desc, default: {}, allOf: [refTo(f.ref)] };
    case 'map':
      return { ...desc, type: 'object', additionalProperties: fieldToOpenApi(f.values) };
    case 'free':
      return { ...desc, type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    case 'array':
      return {
        ...desc,
        type: 'array',
        items: fieldToOpenApi(f.items),
        ...(f.listType ? { 'x-kubernetes-list-type': f.listType } : {}),
        ...(f.listMapKeys ? { 'x-kubernetes-list-map-keys': [...f.listMapKeys] } : {}),
        ...(f.mergeKey ? { 'x-kubernetes-patch-merge-key': f.mergeKey } : {}),
        ...(f.patchStrategy ? { 'x-kubernetes-patch-strategy': f.patchStrategy } : {}),
      };
  }
}

function structToOpenApi(s: StructSchema): Json {
  const properties: Json = {};
  for (const [k, f] of Object.entries(s.properties)) properties[k] = fieldToOpenApi(f);
  return {
    ...(s.description ? { description: s.description } : {}),
    type: 'object',
    properties,
    ...(s.required?.length ? { required: [...s.required] } : {}),
    ...(s.gvk ? { 'x-kubernetes-group-version-kind': [{ ...s.gvk }] } : {}),
  };
}

/** Definition names a field refers to, directly or through lists and maps. */
function refsOf(f: FieldSchema): string[] {
  switch (f.type) {
    case 'ref':
      return [f.ref];
    case 'array':
      return refsOf(f.items);
    case 'map':
      return refsOf(f.values);
    default:
      return [];
  }
}

/** `io.k8s.api.core.v1.Pod` → `io.k8s.api.core.v1.PodList`. */
const listName = (def: string): string => `${def}List`;

function listSchema(itemDef: string, item: StructSchema): Json {
  const gvk = item.gvk as NonNullable<StructSchema['gvk']>;
  return {
    description: `${gvk.kind}List is a list of ${gvk.kind} objects.`,
    type: 'object',
    required: ['items'],
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      items: { type: 'array', items: { default: {}, allOf: [refTo(itemDef)] } },
      metadata: { default: {}, allOf: [refTo(`${META}.ListMeta`)] },
    },
    'x-kubernetes-group-version-kind': [{ ...gvk, kind: `${gvk.kind}List` }],
  };
}

// ------------------------------------------------------------ paths

const param = (name: string, where: 'path' | 'query', description: string, type: 'string' | 'boolean' | 'integer' = 'string'): Json => ({
  name,
  in: where,
  description,
  ...(where === 'path' ? { required: true } : {}),
  schema: { type, uniqueItems: true },
});

const P = {
  name: (kind: string) => param('name', 'path', `name of the ${kind}`),
  namespace: param('namespace', 'path', 'object name and auth scope, such as for teams and projects'),
  pretty: param('pretty', 'query', "If 'true', then the output is pretty printed."),
  dryRun: param('dryRun', 'query', 'When present, indicates that modifications should not be persisted.'),
  fieldManager: param('fieldManager', 'query', 'fieldManager is a name associated with the actor or entity that is making these changes.'),
  fieldValidation: param(
    'fieldValidation',
    'query',
    'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn (default), Strict.',
  ),
  labelSelector: param('labelSelector', 'query', 'A selector to restrict the list of returned objects by their labels.'),
  fieldSelector: param('fieldSelector', 'query', 'A selector to restrict the list of returned objects by their fields.'),
  resourceVersion: param('resourceVersion', 'query', 'resourceVersion sets a constraint on what resource versions a request may be served from.'),
  watch: param('watch', 'query', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.', 'boolean'),
  limit: param('limit', 'query', 'limit is a maximum number of responses to return for a list call.', 'integer'),
  timeoutSeconds: param('timeoutSeconds', 'query', 'Timeout for the list/watch call.', 'integer'),
};

const JSON_TYPES = ['application/json', 'application/yaml'];

function content(schemaRef: string, types: readonly string[] = JSON_TYPES): Json {
  return Object.fromEntries(types.map((t) => [t, { schema: refTo(schemaRef) }]));
}

interface OpSpec {
  action: string;
  verb: string;
  description: string;
  kindDef: string;
  gvk: { group: string; version: string; kind: string };
  params?: Json[];
  body?: Json;
  responses: Record<string, string>;
}

function operation(op: OpSpec, responseDef: string): Json {
  const responses: Json = {};
  for (const [code, description] of Object.entries(op.responses)) {
    responses[code] = { description, content: content(responseDef) };
  }
  responses['401'] = { description: 'Unauthorized' };
  return {
    description: op.description,
    operationId: op.verb,
    ...(op.params?.length ? { parameters: op.params } : {}),
    ...(op.body ? { requestBody: op.body } : {}),
    responses,
    'x-kubernetes-action': op.action,
    'x-kubernetes-group-version-kind': { ...op.gvk },
  };
}

const upperFirst = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

function groupTag(r: Pick<ResourceInfo, 'group' | 'version'>): string {
  const g = r.group === '' ? 'Core' : r.group.split('.')[0]?.replace(/^./, (c) => c.toUpperCase()) ?? '';
  return `${g}${upperFirst(r.version)}`;
}

/** The paths of one resource (collection, object, subresources) in its group-version document. */
function resourcePaths(r: ResourceInfo): Record<string, Json> {
  const kindDef = definitionForKind(r.kind, apiVersionOf(r));
  if (!kindDef) throw new Error(`openapi: no schema definition for kind ${r.kind}`);
  const gvk = { group: r.group, version: r.version, kind: r.kind };
  const base = groupVersionPath(r);
  const scope = r.namespaced ? `${base}/namespaces/{namespace}/${r.resource}` : `${base}/${r.resource}`;
  const scopeParams = r.namespaced ? [P.namespace, P.pretty] : [P.pretty];
  const id = `${groupTag(r)}${r.namespaced ? 'Namespaced' : ''}${r.kind}`;
  const paths: Record<string, Json> = {};
  const writeParams = [P.dryRun, P.fieldManager, P.fieldValidation];
  const patchBody = {
    required: true,
    content: Object.fromEntries(
      ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'].map((t) => [t, { schema: refTo(PATCH) }]),
    ),
  };

  paths[scope] = {
    parameters: scopeParams,
    get: operation(
      {
        action: 'list',
        verb: `list${id}`,
        description: `list or watch objects of kind ${r.kind}`,
        kindDef,
        gvk,
        params: [P.labelSelector, P.fieldSelector, P.resourceVersion, P.limit, P.timeoutSeconds, P.watch],
        responses: { '200': 'OK' },
      },
      listName(kindDef),
    ),
    post: operation(
      {
        action: 'post',
        verb: `create${id}`,
        description: `create a ${r.kind}`,
        kindDef,
        gvk,
        params: writeParams,
        body: { required: true, content: content(kindDef, ['*/*']) },
        responses: { '200': 'OK', '201': 'Created', '202': 'Accepted' },
      },
      kindDef,
    ),
  };
  if (r.namespaced) {
    paths[`${base}/${r.resource}`] = {
      parameters: [P.pretty],
      get: operation(
        {
          action: 'list',
          verb: `list${groupTag(r)}${r.kind}ForAllNamespaces`,
          description: `list or watch objects of kind ${r.kind}`,
          kindDef,
          gvk,
          params: [P.labelSelector, P.fieldSelector, P.resourceVersion, P.limit, P.timeoutSeconds, P.watch],
          responses: { '200': 'OK' },
        },
        listName(kindDef),
      ),
    };
  }
  paths[`${scope}/{name}`] = {
    parameters: [P.name(r.kind), ...scopeParams],
    get: operation({ action: 'get', verb: `read${id}`, description: `read the specified ${r.kind}`, kindDef, gvk, responses: { '200': 'OK' } }, kindDef),
    put: operation(
      {
        action: 'put',
        verb: `replace${id}`,
        description: `replace the specified ${r.kind}`,
        kindDef,
        gvk,
        params: writeParams,
        body: { required: true, content: content(kindDef, ['*/*']) },
        responses: { '200': 'OK', '201': 'Created' },
      },
      kindDef,
    ),
    patch: operation(
      {
        action: 'patch',
        verb: `patch${id}`,
        description: `partially update the specified ${r.kind}`,
        kindDef,
        gvk,
        params: writeParams,
        body: patchBody,
        responses: { '200': 'OK', '201': 'Created' },
      },
      kindDef,
    ),
    delete: operation(
      {
        action: 'delete',
        verb: `delete${id}`,
        description: `delete a ${r.kind}`,
        kindDef,
        gvk,
        params: [P.dryRun],
        body: { content: content(DELETE_OPTIONS, ['*/*']) },
        responses: { '200': 'OK', '202': 'Accepted' },
      },
      STATUS,
    ),
  };

  for (const sub of r.subresources) {
    const special = SUBRESOURCE_KINDS[`${r.resource}/${sub}`];
    // log, exec, attach and portforward stream text or upgrade to a streaming protocol: no object documents.
    if (sub === 'log' || sub === 'exec' || sub === 'attach' || sub === 'portforward') continue;
    const subKind = special?.kind ?? r.kind;
    const subGvk = special ? { group: special.group, version: special.version, kind: special.kind } : gvk;
    const subDef = definitionForKind(subKind, special ? apiVersionOf(special) : apiVersionOf(r));
    if (!subDef) throw new Error(`openapi: no schema definition for ${r.resource}/${sub} (${subKind})`);
    const subId = `${id}${upperFirst(sub)}`;
    const entry: Json = { parameters: [P.name(subKind), ...scopeParams] };
    if (sub === 'binding' || sub === 'eviction') {
      entry.post = operation(
        {
          action: 'post',
          verb: `create${subId}`,
          description: `create ${sub} of a ${r.kind}`,
          kindDef: subDef,
          gvk: subGvk,
          params: writeParams,
          body: { required: true, content: content(subDef, ['*/*']) },
          responses: { '200': 'OK', '201': 'Created', '202': 'Accepted' },
        },
        subDef,
      );
    } else {
      entry.get = operation(
        { action: 'get', verb: `read${subId}`, description: `read ${sub} of the specified ${r.kind}`, kindDef: subDef, gvk: subGvk, responses: { '200': 'OK' } },
        subDef,
      );
      entry.put = operation(
        {
          action: 'put',
          verb: `replace${subId}`,
          description: `replace ${sub} of the specified ${r.kind}`,
          kindDef: subDef,
          gvk: subGvk,
          params: writeParams,
          body: { required: true, content: content(subDef, ['*/*']) },
          responses: { '200': 'OK', '201': 'Created' },
        },
        subDef,
      );
      entry.patch = operation(
        {
          action: 'patch',
          verb: `patch${subId}`,
          description: `partially update ${sub} of the specified ${r.kind}`,
          kindDef: subDef,
          gvk: subGvk,
          params: writeParams,
          body: patchBody,
          responses: { '200': 'OK', '201': 'Created' },
        },
        subDef,
      );
    }
    paths[`${scope}/{name}/${sub}`] = entry;
  }
  return paths;
}

// ------------------------------------------------------------ documents

/** `api/v1` or `apis/<group>/<version>`: the key of a group version in the index. */
export function groupVersionKey(gv: { group: string; version: string }): string {
  return gv.group === '' ? `api/${gv.version}` : `apis/${gv.group}/${gv.version}`;
}

function buildDocument(gvKey: string): Json | undefined {
  const resources = RESOURCES.filter((r) => groupVersionKey(r) === gvKey);
  if (resources.length === 0) return undefined;
  const paths: Record<string, Json> = {};
  for (const r of resources) Object.assign(paths, resourcePaths(r));

  // Schemas: every definition reachable from the kinds these paths name.
  const wanted: string[] = [];
  const lists: string[] = [];
  for (const r of resources) {
    const def = definitionForKind(r.kind, apiVersionOf(r));
    if (def) {
      wanted.push(def);
      lists.push(def);
    }
    for (const sub of r.subresources) {
      const special = SUBRESOURCE_KINDS[`${r.resource}/${sub}`];
      const d = special ? definitionForKind(special.kind, apiVersionOf(special)) : undefined;
      if (d) wanted.push(d);
    }
  }
  wanted.push(`${META}.ListMeta`);
  const seen = new Set<string>();
  while (wanted.length > 0) {
    const name = wanted.pop() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    const def = DEFINITIONS[name];
    if (!def) throw new Error(`openapi: dangling schema reference ${name}`);
    for (const f of Object.values(def.properties)) wanted.push(...refsOf(f));
  }
  const schemas: Json = {};
  for (const name of [...seen].sort()) schemas[name] = structToOpenApi(DEFINITIONS[name] as StructSchema);
  for (const def of lists) schemas[listName(def)] = listSchema(def, DEFINITIONS[def] as StructSchema);
  Object.assign(schemas, EXTRA_SCHEMAS);

  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    components: { schemas },
  };
}

interface Built {
  document: Json;
  hash: string;
}

let cache: Map<string, Built> | undefined;

/** Every group-version document, built once (they depend only on code). */
function documents(): Map<string, Built> {
  if (cache) return cache;
  const built = new Map<string, Built>();
  for (const gv of groupVersions()) {
    const key = groupVersionKey(gv);
    const document = buildDocument(key);
    if (!document) continue;
    const hash = createHash('sha512').update(JSON.stringify(document)).digest('hex').toUpperCase();
    built.set(key, { document, hash });
  }
  cache = built;
  return built;
}

export interface OpenApiV3Index {
  paths: Record<string, { serverRelativeURL: string }>;
}

/** `GET /openapi/v3`: one entry per served group version, each URL carrying the content hash. */
export function openApiV3Index(): OpenApiV3Index {
  const paths: OpenApiV3Index['paths'] = {};
  for (const [key, b] of documents()) paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${b.hash}` };
  return { paths };
}

/** The document of one group version (`api/v1`, `apis/discovery.k8s.io/v1`), or undefined. */
export function openApiV3Document(gvKey: string): Json | undefined {
  return documents().get(gvKey.replace(/^\/+/, ''))?.document;
}

export interface OpenApiV3Response {
  body: Json;
  /** Strong ETag: the document's hash (index: the hash of the index). */
  etag: string;
  /**
   * True when the request named the current `hash`: the real server then
   * answers with `Cache-Control: public, immutable`; otherwise `no-cache, private`.
   */
  immutable: boolean;
}

/**
 * Resolves a request path (`/openapi/v3`, `/openapi/v3/api/v1`) and optional
 * `hash` query value to the body to serve; undefined means 404.
 */
export function resolveOpenApiV3(pathname: string, hash?: string | null): OpenApiV3Response | undefined {
  const p = pathname.replace(/\/+$/, '');
  if (p === '/openapi/v3') {
    const body = openApiV3Index() as unknown as Json;
    const etag = `"${createHash('sha512').update(JSON.stringify(body)).digest('hex').toUpperCase()}"`;
    return { body, etag, immutable: false };
  }
  if (!p.startsWith('/openapi/v3/')) return undefined;
  const b = documents().get(p.slice('/openapi/v3/'.length));
  if (!b) return undefined;
  return { body: b.document, etag: `"${b.hash}"`, immutable: hash === b.hash };
}

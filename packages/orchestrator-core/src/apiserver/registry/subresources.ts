import type { KubeObject, ResourceInfo } from '@pilot/api';
import type { PatchRequest } from './access.js';
import type { StrategyContext } from './strategy.js';

/**
 * Subresources (`<resource>/<name>/<sub>`), kube-apiserver's per-subresource
 * REST storages (StatusREST, BindingREST, ScaleREST, LogREST, ExecREST, ...):
 * each is a small object whose methods are the verbs it serves. The HTTP
 * layer knows only verbs: GET calls `get`, PUT `update`, PATCH `patch`,
 * POST `create`; a `connect` subresource is served by the kubelet and the
 * HTTP layer proxies to the place `locate` names. A verb without its method
 * is 405. Which subresources a resource has is its row in table.ts.
 */

/** One request on a subresource, as the HTTP layer hands it over. */
export interface SubresourceCall {
  resource: ResourceInfo;
  /** undefined for cluster-scoped resources. */
  namespace: string | undefined;
  name: string;
  query: URLSearchParams;
  /**
   * fieldValidation (Strict/Warn/Ignore, the request's directive) of a body
   * to be stored, against the subresource's kind: the object without unknown
   * fields, or a thrown 400. The identity for kinds without a schema.
   */
  checkFields(obj: unknown): unknown;
  /** The same for a patched object, judged only on the fields the patch brings in. */
  checkPatched(next: KubeObject, current: KubeObject): KubeObject;
}

/** What a POST on a subresource answers (binding: 201 with a Success Status). */
export interface SubresourceReply {
  code: number;
  body: unknown;
}

/** Where a connect subresource is served: a kubelet's HTTP endpoint. */
export interface ConnectTarget {
  host: string;
  port: number;
  /** Path + query on that server, e.g. /containerLogs/default/web/c?follow=true */
  path: string;
  /** The start of the 503 when the target cannot be reached, e.g. `logs for pod "db" are not available: the kubelet at 10.0.0.3:10250 cannot be reached`. */
  unreachable: string;
}

export interface ConnectSubresource {
  /** HTTP methods it is served on (log: GET; exec: GET and POST, as kubectl's websocket and SPDY clients use). */
  methods: readonly string[];
  /**
   * true: the request must be an HTTP upgrade (websocket, SPDY), spliced end
   * to end to the target; a plain request is 400 once the target is known.
   * false: the target's response is streamed back.
   */
  upgrade: boolean;
  /** The target for this request, or a StatusError (404 pod, 400 container, 503 no kubelet). */
  locate(call: SubresourceCall, ctx: StrategyContext): Promise<ConnectTarget>;
}

export interface Subresource {
  /** GET: the subresource's view (status: the object; scale: a Scale). */
  get?(call: SubresourceCall, ctx: StrategyContext): Promise<KubeObject>;
  /** PUT: a whole new view. */
  update?(call: SubresourceCall, body: unknown, ctx: StrategyContext): Promise<KubeObject>;
  /** PATCH: a patch of the view. */
  patch?(call: SubresourceCall, patch: PatchRequest, ctx: StrategyContext): Promise<KubeObject>;
  /** POST: an action on the object (binding; eviction later). */
  create?(call: SubresourceCall, body: unknown, ctx: StrategyContext): Promise<SubresourceReply>;
  connect?: ConnectSubresource;
}

export type SubresourceMap = Readonly<Record<string, Subresource>>;

/**
 * `<resource>/status`: reads the object, writes only its status (the main
 * resource's writes keep the stored status, generic-registry.ts).
 */
export const statusSubresource: Subresource = {
  get: (call, ctx) => ctx.objects.get(call.resource, call.namespace, call.name),
  update: (call, body, ctx) => ctx.objects.update(call.resource, call.namespace, call.name, call.checkFields(body), { kind: 'status' }),
  patch: (call, p, ctx) => ctx.objects.patch(call.resource, call.namespace, call.name, p, { kind: 'status', check: call.checkPatched }),
};

/**
 * REST + watch client for the Kubernetes API. Plain node:http/node:https with
 * a keep-alive agent, bearer token and CA from options or a kubeconfig. Every
 * non-2xx answer becomes an ApiError carrying the server's Status; a watch
 * ERROR event does too (410 → relist).
 */
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import type { Binding, DeleteOptions, KubeObject, List, Scale, Status, WatchEvent } from './types.js';
import { resourceByName, resourcePath, type ResourceInfo, apiVersionOf } from './resources.js';
import { ApiError, isStatus, statusFor } from './errors.js';
import { WatchDecoder } from './watch-decoder.js';
import { loadKubeconfig } from './kubeconfig.js';
import type { LabelSelector, FieldSelector } from './selectors.js';

export interface ApiClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:8080` or `https://10.0.0.2:6443`. */
  server: string;
  token?: string;
  /** PEM CA bundle (contents, not a path) used to verify the server. */
  ca?: string | Buffer;
  /** PEM client certificate and key, for kubeconfigs that use them. */
  cert?: string | Buffer;
  key?: string | Buffer;
  insecureSkipTLSVerify?: boolean;
  userAgent?: string;
  /** Timeout of non-watch requests (default 60 s). */
  timeoutMs?: number;
  /** Default namespace of namespaced calls that name none (kubeconfig context namespace). */
  namespace?: string;
}

export class ClientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ClientError';
  }
}

type Selector = string | LabelSelector | FieldSelector;

export interface NamespaceOption {
  namespace?: string;
  signal?: AbortSignal;
}

export interface ListOptions extends NamespaceOption {
  labelSelector?: Selector;
  fieldSelector?: Selector;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface WatchOptions extends NamespaceOption {
  resourceVersion?: string;
  labelSelector?: Selector;
  fieldSelector?: Selector;
  allowWatchBookmarks?: boolean;
  /** Asks the server to end the watch after this many seconds. */
  timeoutSeconds?: number;
}

export interface DeleteCallOptions extends NamespaceOption {
  gracePeriodSeconds?: number;
  propagationPolicy?: DeleteOptions['propagationPolicy'];
  preconditions?: DeleteOptions['preconditions'];
}

export type PatchType = 'merge' | 'json' | 'strategic';

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
};

interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  /** Socket inactivity limit; defaults to the client's timeoutMs. 0 = none. */
  idleTimeoutMs?: number;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal | undefined;
}

function selectorString(s: Selector | undefined): string | undefined {
  if (s === undefined) return undefined;
  const v = typeof s === 'string' ? s : s.toString();
  return v === '' ? undefined : v;
}

export class ApiClient {
  readonly server: URL;
  readonly defaultNamespace: string | undefined;
  private readonly agent: http.Agent;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly basePath: string;

  constructor(opts: ApiClientOptions) {
    let url: URL;
    try {
      url = new URL(opts.server);
    } catch {
      throw new ClientError(`invalid API server URL "${opts.server}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new ClientError(`API server URL "${opts.server}" must start with http:// or https://`);
    this.server = url;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.defaultNamespace = opts.namespace;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.agent =
      url.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            ...(opts.ca ? { ca: opts.ca } : {}),
            ...(opts.cert ? { cert: opts.cert } : {}),
            ...(opts.key ? { key: opts.key } : {}),
            rejectUnauthorized: !opts.insecureSkipTLSVerify,
          })
        : new http.Agent({ keepAlive: true });
    this.headers = {
      Accept: 'application/json',
      'User-Agent': opts.userAgent ?? 'pilot-api-client/0.1',
      ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}),
    };
  }

  /** A client from a kubeconfig file (its current context, or `context`). */
  static fromKubeconfig(path: string, context?: string, extra: Partial<ApiClientOptions> = {}): ApiClient {
    const k = loadKubeconfig(path, context);
    return new ApiClient({
      server: k.server,
      ...(k.token ? { token: k.token } : {}),
      ...(k.ca ? { ca: k.ca } : {}),
      ...(k.cert ? { cert: k.cert } : {}),
      ...(k.key ? { key: k.key } : {}),
      ...(k.insecureSkipTLSVerify ? { insecureSkipTLSVerify: true } : {}),
      ...(k.namespace ? { namespace: k.namespace } : {}),
      ...extra,
    });
  }

  /**
   * The daemons' `--master` / `--kubeconfig` flags: a kubeconfig gives
   * credentials and server; `--master` overrides its server (as kube-proxy
   * does); neither → the local insecure port http://127.0.0.1:8080.
   */
  static fromFlags(flags: { master?: string; kubeconfig?: string; token?: string; tokenFile?: string; userAgent?: string }): ApiClient {
    const extra: Partial<ApiClientOptions> = {};
    if (flags.userAgent) extra.userAgent = flags.userAgent;
    if (flags.token) extra.token = flags.token;
    else if (flags.tokenFile) {
      try {
        extra.token = readFileSync(flags.tokenFile, 'utf8').trim();
      } catch (err) {
        throw new ClientError(`cannot read token file ${flags.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    if (flags.master) extra.server = flags.master;
    if (flags.kubeconfig) return ApiClient.fromKubeconfig(flags.kubeconfig, undefined, extra);
    return new ApiClient({ server: 'http://127.0.0.1:8080', ...extra });
  }

  /** Releases pooled connections. */
  close(): void {
    this.agent.destroy();
  }

  // ---------------------------------------------------------------- paths

  private info(resource: string): ResourceInfo {
    const r = resourceByName(resource);
    if (!r) throw new ClientError(`unknown resource "${resource}"`);
    return r;
  }

  private path(resource: string, opts: { namespace?: string | undefined; name?: string; subresource?: string }, needNs: boolean): string {
    const r = this.info(resource);
    // The context namespace fills in for single objects only; a collection call
    // without a namespace means all namespaces (what informers in daemons want).
    const namespace = opts.namespace ?? (needNs ? this.defaultNamespace : undefined);
    if (r.namespaced && needNs && !namespace)
      throw new ClientError(`${r.resource}${opts.name ? ` "${opts.name}"` : ''}: a namespace is required`);
    return resourcePath(r, {
      ...(namespace ? { namespace } : {}),
      ...(opts.name !== undefined ? { name: opts.name } : {}),
      ...(opts.subresource !== undefined ? { subresource: opts.subresource } : {}),
    });
  }

  // ---------------------------------------------------------------- verbs

  get<T extends KubeObject = KubeObject>(resource: string, name: string, opts: NamespaceOption = {}): Promise<T> {
    return this.request<T>('GET', this.path(resource, { namespace: opts.namespace, name }, true), { signal: opts.signal });
  }

  list<T extends KubeObject = KubeObject>(resource: string, opts: ListOptions = {}): Promise<List<T>> {
    return this.request<List<T>>('GET', this.path(resource, { namespace: opts.namespace }, false), {
      signal: opts.signal,
      query: {
        labelSelector: selectorString(opts.labelSelector),
        fieldSelector: selectorString(opts.fieldSelector),
        limit: opts.limit,
        continue: opts.continue,
        resourceVersion: opts.resourceVersion,
      },
    });
  }

  /** Lists every page (following `continue`) and returns one list with the first page's resourceVersion. */
  async listAll<T extends KubeObject = KubeObject>(resource: string, opts: ListOptions = {}): Promise<List<T>> {
    const first = await this.list<T>(resource, opts);
    const items = [...first.items];
    let next = first.metadata?.continue;
    // A continued page is read at its token's revision; kube-apiserver refuses a resourceVersion beside it (client-go's pager drops it too).
    const { resourceVersion: _rv, ...rest } = opts;
    while (next) {
      const page = await this.list<T>(resource, { ...rest, continue: next });
      items.push(...page.items);
      next = page.metadata?.continue;
    }
    const { continue: _done, ...metadata } = first.metadata ?? {};
    return { ...first, metadata, items };
  }

  create<T extends KubeObject = KubeObject>(resource: string, obj: T, opts: NamespaceOption = {}): Promise<T> {
    const namespace = opts.namespace ?? obj.metadata?.namespace;
    return this.request<T>('POST', this.path(resource, { namespace }, true), { body: obj, signal: opts.signal });
  }

  /** PUT of the whole object; metadata.resourceVersion (if set) makes it a compare-and-swap. */
  update<T extends KubeObject = KubeObject>(resource: string, obj: T, opts: NamespaceOption = {}): Promise<T> {
    const name = this.nameOf(resource, obj);
    const namespace = opts.namespace ?? obj.metadata?.namespace;
    return this.request<T>('PUT', this.path(resource, { namespace, name }, true), { body: obj, signal: opts.signal });
  }

  patch<T extends KubeObject = KubeObject>(
    resource: string,
    name: string,
    patch: unknown,
    type: PatchType = 'merge',
    opts: NamespaceOption & { subresource?: string } = {},
  ): Promise<T> {
    return this.request<T>('PATCH', this.path(resource, { namespace: opts.namespace, name, ...(opts.subresource ? { subresource: opts.subresource } : {}) }, true), {
      body: patch,
      contentType: PATCH_CONTENT_TYPES[type],
      signal: opts.signal,
    });
  }

  /** DELETE; resolves to what the server returns (the object while it terminates gracefully, or a Success Status). */
  delete<T extends KubeObject = KubeObject>(resource: string, name: string, opts: DeleteCallOptions = {}): Promise<T | Status> {
    const body: DeleteOptions = { kind: 'DeleteOptions', apiVersion: 'v1' };
    if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
    if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
    if (opts.preconditions) body.preconditions = opts.preconditions;
    return this.request<T | Status>('DELETE', this.path(resource, { namespace: opts.namespace, name }, true), {
      body,
      signal: opts.signal,
    });
  }

  getStatus<T extends KubeObject = KubeObject>(resource: string, name: string, opts: NamespaceOption = {}): Promise<T> {
    return this.request<T>('GET', this.path(resource, { namespace: opts.namespace, name, subresource: 'status' }, true), { signal: opts.signal });
  }

  /** PUT to the status subresource: only `.status` is written by the server. */
  updateStatus<T extends KubeObject = KubeObject>(resource: string, obj: T, opts: NamespaceOption = {}): Promise<T> {
    const name = this.nameOf(resource, obj);
    const namespace = opts.namespace ?? obj.metadata?.namespace;
    return this.request<T>('PUT', this.path(resource, { namespace, name, subresource: 'status' }, true), { body: obj, signal: opts.signal });
  }

  patchStatus<T extends KubeObject = KubeObject>(resource: string, name: string, patch: unknown, type: PatchType = 'merge', opts: NamespaceOption = {}): Promise<T> {
    return this.patch<T>(resource, name, patch, type, { ...opts, subresource: 'status' });
  }

  /** POST pods/<name>/binding: assigns the pod to a node (409 when already bound). */
  bind(namespace: string, podName: string, nodeName: string, opts: { signal?: AbortSignal } = {}): Promise<Status> {
    const binding: Binding = {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: podName, namespace },
      target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
    };
    return this.request<Status>('POST', this.path('pods', { namespace, name: podName, subresource: 'binding' }, true), {
      body: binding,
      signal: opts.signal,
    });
  }

  getScale(resource: string, name: string, opts: NamespaceOption = {}): Promise<Scale> {
    return this.request<Scale>('GET', this.path(resource, { namespace: opts.namespace, name, subresource: 'scale' }, true), { signal: opts.signal });
  }

  /** PUT …/scale with a Scale object, or just a replica count. */
  updateScale(resource: string, name: string, scale: Scale | number, opts: NamespaceOption = {}): Promise<Scale> {
    const namespace = opts.namespace ?? (typeof scale === 'number' ? undefined : scale.metadata?.namespace);
    const body: Scale =
      typeof scale === 'number'
        ? { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name, ...(namespace ? { namespace } : {}) }, spec: { replicas: scale } }
        : scale;
    return this.request<Scale>('PUT', this.path(resource, { namespace, name, subresource: 'scale' }, true), { body, signal: opts.signal });
  }

  /**
   * Watches a collection. Events arrive in server order; the iterator ends
   * when the server closes the stream or the signal aborts. A non-2xx answer
   * or an ERROR event throws ApiError (code 410 when the resourceVersion is
   * too old: relist).
   */
  async *watch<T extends KubeObject = KubeObject>(resource: string, opts: WatchOptions = {}): AsyncGenerator<WatchEvent<T>, void, undefined> {
    const path = this.path(resource, { namespace: opts.namespace }, false);
    const res = await this.send('GET', path, {
      signal: opts.signal,
      // A watch is quiet for as long as nothing changes; only a dead peer should trip this.
      idleTimeoutMs: opts.timeoutSeconds ? (opts.timeoutSeconds + 60) * 1000 : 0,
      query: {
        watch: 1,
        resourceVersion: opts.resourceVersion,
        labelSelector: selectorString(opts.labelSelector),
        fieldSelector: selectorString(opts.fieldSelector),
        allowWatchBookmarks: opts.allowWatchBookmarks ? true : undefined,
        timeoutSeconds: opts.timeoutSeconds,
      },
    });
    if (res === undefined) return; // aborted before the answer
    const what = `watch ${path}`;
    if ((res.statusCode ?? 0) >= 300) throw await errorFrom(res, what);
    const decoder = new WatchDecoder<T>();
    const onAbort = () => res.destroy();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        for (const ev of decoder.push(chunk)) yield checkEvent(ev);
      }
      for (const ev of decoder.end()) yield checkEvent(ev);
    } catch (err) {
      if (opts.signal?.aborted) return;
      if (err instanceof ApiError) throw err;
      throw new ClientError(`${what}: ${(err as Error).message}`, { cause: err });
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      res.destroy();
    }
  }

  // ---------------------------------------------------------------- transport

  private nameOf(resource: string, obj: KubeObject): string {
    const name = obj?.metadata?.name;
    if (!name) throw new ClientError(`${resource}: object has no metadata.name`);
    return name;
  }

  /** One request with a JSON body and a JSON answer; non-2xx → ApiError. */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, opts);
    if (res === undefined) throw new ClientError(`${method} ${path}: aborted`);
    const what = `${method} ${path}`;
    if ((res.statusCode ?? 0) >= 300) throw await errorFrom(res, what);
    const body = await readBody(res, what);
    if (body.trim() === '') return undefined as T;
    try {
      return JSON.parse(body) as T;
    } catch {
      throw new ApiError(statusFor(500, 'InternalError', `${what}: server answered ${res.statusCode} with non-JSON body: ${body.slice(0, 200)}`));
    }
  }

  /** Sends a request and resolves with the response head (undefined when aborted before it). */
  private send(method: string, path: string, opts: RequestOptions): Promise<IncomingMessage | undefined> {
    const url = new URL(this.basePath + path, this.server);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { ...this.headers };
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body));
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const what = `${method} ${url.pathname}${url.search}`;
    const mod = url.protocol === 'https:' ? https : http;
    const attempt = (retried: boolean): Promise<IncomingMessage | undefined> => new Promise((resolve, reject) => {
      if (opts.signal?.aborted) return resolve(undefined);
      const req = mod.request(url, { method, headers, agent: this.agent });
      let settled = false;
      const onAbort = () => {
        if (!settled) {
          settled = true;
          resolve(undefined);
        }
        req.destroy();
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const idle = opts.idleTimeoutMs ?? this.timeoutMs;
      if (idle > 0) req.setTimeout(idle, () => req.destroy(new Error(`connection idle for ${idle} ms`)));
      req.on('response', (res) => {
        opts.signal?.removeEventListener('abort', onAbort);
        if (settled) return void res.destroy();
        settled = true;
        resolve(res);
      });
      req.on('error', (err) => {
        opts.signal?.removeEventListener('abort', onAbort);
        if (settled) return;
        settled = true;
        // A kept-alive socket the server closed as idle just as this request went out
        // (Node's documented reusedSocket race): once more on a fresh one, for methods
        // a repeat cannot change (Go's transport retries the same ones).
        if (!retried && req.reusedSocket && RETRY_ON_RESET.has(method) && isConnectionReset(err)) return void attempt(true).then(resolve, reject);
        reject(new ClientError(`${what} to ${this.server.origin}: ${err.message}`, { cause: err }));
      });
      req.end(payload);
    });
    return attempt(false);
  }
}

/** Idempotent methods: sending one twice leaves the server as sending it once. */
const RETRY_ON_RESET = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

function isConnectionReset(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}

function checkEvent<T extends KubeObject>(ev: WatchEvent<T>): WatchEvent<T> {
  if (ev.type === 'ERROR') {
    const obj = ev.object as unknown;
    throw new ApiError(isStatus(obj) ? obj : statusFor(500, 'InternalError', `watch ERROR event without a Status: ${JSON.stringify(obj).slice(0, 200)}`));
  }
  return ev;
}

async function readBody(res: IncomingMessage, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  try {
    for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
  } catch (err) {
    throw new ClientError(`${what}: reading the answer: ${(err as Error).message}`, { cause: err });
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function errorFrom(res: IncomingMessage, what: string): Promise<ApiError> {
  const body = await readBody(res, what).catch(() => '');
  try {
    const v = JSON.parse(body) as unknown;
    if (isStatus(v)) return new ApiError({ ...v, code: v.code || (res.statusCode ?? 500) });
  } catch {
    // not JSON: fall through to a synthesized Status
  }
  return ApiError.fromResponse(res.statusCode ?? 500, body, what);
}

/** `apiVersion` + `kind` for a resource, for objects built in code. */
export function typeMetaFor(resource: string): { apiVersion: string; kind: string } {
  const r = resourceByName(resource);
  if (!r) throw new ClientError(`unknown resource "${resource}"`);
  return { apiVersion: apiVersionOf(r), kind: r.kind };
}

/**
 * Server-side Table conversion (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`):
 * what makes `kubectl get` print STATUS, IP, NODE… instead of NAME/AGE.
 * Rows carry the object's metadata as PartialObjectMetadata (NAMESPACE for
 * `-A`, `--show-labels`, `-L` need it) or the whole object with
 * `includeObject=Object` (`--sort-by`), as apiserver handlers/response.go does.
 */
import { resourceByName, type ResourceInfo } from '../resources.js';
import type { KubeObject, ListMeta, WatchEvent, WatchEventType } from '../types.js';
import { DEFAULT_PRINTER, PRINTERS, type Printer, type TableColumnDefinition, type TableRowCondition } from './printers.js';

export type IncludeObject = 'None' | 'Metadata' | 'Object';
export type TableApiVersion = 'meta.k8s.io/v1' | 'meta.k8s.io/v1beta1';

export interface PartialObjectMetadata {
  kind: 'PartialObjectMetadata';
  apiVersion: TableApiVersion;
  metadata: KubeObject['metadata'];
}

export interface TableRow {
  cells: unknown[];
  conditions?: TableRowCondition[];
  object?: PartialObjectMetadata | KubeObject;
}

export interface Table {
  kind: 'Table';
  apiVersion: TableApiVersion;
  metadata: ListMeta;
  /** Omitted (null) in watch events after the first, as the real server does. */
  columnDefinitions: TableColumnDefinition[] | null;
  rows: TableRow[];
}

export interface TableOptions {
  /** What each row's `object` holds; `Metadata` by default (the `includeObject` query parameter). */
  includeObject?: IncludeObject;
  /**
   * Include priority-1 (`-o wide`) columns. Defaults to true: kubectl sends
   * the same request for `-o wide` and hides those columns itself.
   */
  wide?: boolean;
  /** Clock for the AGE columns. */
  now?: Date;
  /** The list's resourceVersion (`metadata.resourceVersion` of the Table). */
  resourceVersion?: string;
  /** `continue` token of a paginated list. */
  continue?: string;
  apiVersion?: TableApiVersion;
  /** false leaves `columnDefinitions` null (watch events after the first). */
  headers?: boolean;
}

function printerFor(resource: string | Pick<ResourceInfo, 'resource'>): Printer {
  const plural = typeof resource === 'string' ? resourceByName(resource)?.resource ?? resource.toLowerCase() : resource.resource;
  return PRINTERS[plural] ?? DEFAULT_PRINTER;
}

/** The column definitions of a resource (all of them, or without wide ones). */
export function tableColumns(resource: string | Pick<ResourceInfo, 'resource'>, wide = true): TableColumnDefinition[] {
  return printerFor(resource).columns.filter((c) => wide || c.priority === 0).map((c) => ({ ...c }));
}

/** Parses the `includeObject` query parameter; undefined or empty means Metadata. */
export function parseIncludeObject(value: string | null | undefined): IncludeObject {
  if (value === undefined || value === null || value === '') return 'Metadata';
  if (value === 'None' || value === 'Metadata' || value === 'Object') return value;
  throw new Error(`includeObject must be None, Metadata or Object, not "${value}"`);
}

/** Converts a list (or one object) of `resource` into a meta.k8s.io Table. */
export function toTable(
  resource: string | Pick<ResourceInfo, 'resource'>,
  objects: readonly KubeObject[],
  opts: TableOptions = {},
): Table {
  const printer = printerFor(resource);
  const now = opts.now ?? new Date();
  const wide = opts.wide ?? true;
  const apiVersion = opts.apiVersion ?? 'meta.k8s.io/v1';
  const include = opts.includeObject ?? 'Metadata';
  const keep = printer.columns.map((c) => wide || c.priority === 0);

  const rows = objects.map((obj): TableRow => {
    const printed = printer.row(obj, now);
    const row: TableRow = { cells: printed.cells.filter((_, i) => keep[i]) };
    if (printed.conditions) row.conditions = printed.conditions.map((c) => ({ ...c }));
    if (include === 'Metadata') row.object = { kind: 'PartialObjectMetadata', apiVersion, metadata: obj.metadata };
    else if (include === 'Object') row.object = obj;
    return row;
  });

  const metadata: ListMeta = {};
  if (opts.resourceVersion !== undefined) metadata.resourceVersion = opts.resourceVersion;
  if (opts.continue) metadata.continue = opts.continue;
  return {
    kind: 'Table',
    apiVersion,
    metadata,
    columnDefinitions: opts.headers === false ? null : printer.columns.filter((_, i) => keep[i]).map((c) => ({ ...c })),
    rows,
  };
}

/**
 * One watch event as a Table watch stream carries it: the event's object
 * becomes a one-row Table (columns only when `headers`, i.e. the first event).
 * ERROR events pass their Status through; a BOOKMARK becomes an empty Table
 * with the bookmark's resourceVersion.
 */
export function watchEventToTable(
  resource: string | Pick<ResourceInfo, 'resource'>,
  event: WatchEvent,
  opts: TableOptions = {},
): { type: WatchEventType; object: Table | KubeObject } {
  if (event.type === 'ERROR') return { type: event.type, object: event.object };
  const rv = event.object.metadata?.resourceVersion;
  const withRv = { ...opts, ...(rv !== undefined ? { resourceVersion: rv } : {}) };
  if (event.type === 'BOOKMARK') return { type: event.type, object: toTable(resource, [], withRv) };
  return { type: event.type, object: toTable(resource, [event.object], withRv) };
}

// ------------------------------------------------------------ Accept negotiation

export interface MediaRange {
  type: string;
  params: Record<string, string>;
  q: number;
}

/** Splits an Accept header into media ranges with lower-cased parameter names. */
export function parseAccept(header: string | undefined): MediaRange[] {
  if (!header) return [];
  return header
    .split(',')
    .map((part) => {
      const [type = '', ...rest] = part.split(';').map((s) => s.trim());
      const params: Record<string, string> = {};
      let q = 1;
      for (const p of rest) {
        const eq = p.indexOf('=');
        if (eq < 0) continue;
        const k = p.slice(0, eq).trim().toLowerCase();
        const v = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
        if (k === 'q') q = Number.isFinite(Number(v)) ? Number(v) : 0;
        else params[k] = v;
      }
      return { type: type.toLowerCase(), params, q };
    })
    .filter((m) => m.type !== '' && m.q > 0);
}

export interface TableRequest {
  /** The Table apiVersion the client asked for. */
  apiVersion: TableApiVersion;
}

/**
 * Whether the client asked for a Table (`as=Table;g=meta.k8s.io;v=v1` or
 * `v1beta1`), honouring the order and q-values of the Accept header: a plain
 * `application/json` preferred over the Table means no Table. The same header
 * on a watch request asks for a Table per event.
 */
export function parseTableAccept(header: string | undefined): TableRequest | undefined {
  const ranges = parseAccept(header)
    .map((m, i) => ({ m, i }))
    .sort((a, b) => b.m.q - a.m.q || a.i - b.i)
    .map((x) => x.m);
  for (const m of ranges) {
    const jsonish = m.type === 'application/json' || m.type === '*/*' || m.type === 'application/*';
    if (!jsonish) continue;
    if (m.params.as === undefined) return undefined;
    if (m.params.as === 'Table' && m.params.g === 'meta.k8s.io' && (m.params.v === 'v1' || m.params.v === 'v1beta1')) {
      return { apiVersion: `meta.k8s.io/${m.params.v}` };
    }
    // Another `as=` (PartialObjectMetadata…) or version: try the next range.
  }
  return undefined;
}

/**
 * Converts the events of one watch stream: the first Table carries the
 * column definitions, later ones do not (apiserver `NoHeaders`), so kubectl
 * prints one header for the whole `get -w`.
 */
export class TableWatchConverter {
  private headersSent = false;

  constructor(
    private readonly resource: string | Pick<ResourceInfo, 'resource'>,
    private readonly opts: Omit<TableOptions, 'headers'> = {},
  ) {}

  convert(event: WatchEvent): { type: WatchEventType; object: Table | KubeObject } {
    if (event.type === 'ERROR') return watchEventToTable(this.resource, event, this.opts);
    const headers = !this.headersSent;
    this.headersSent = true;
    return watchEventToTable(this.resource, event, { ...this.opts, headers, now: this.opts.now ?? new Date() });
  }
}

import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Logger } from '@pilot/common';
import {
  namespaceName,
  slimEndpoints,
  slimEndpointSlice,
  slimService,
  type EndpointsLike,
  type EndpointSliceLike,
  type EndpointsRecord,
  type NamespaceLike,
  type ServiceLike,
  type ServiceRecord,
} from './records.js';
import type { ZoneIndex } from './zone-index.js';

/**
 * Where records come from. The API informers are one source; a static list
 * (tests, benchmarks) and a watched JSON file (running dnsd alone) are others.
 * A source fills the index and marks it synced once its initial state is in.
 */
export interface RecordSource {
  /** Runs until the signal aborts. */
  run(index: ZoneIndex, signal: AbortSignal): Promise<void>;
}

export type KubeObject = { kind?: string } & Record<string, unknown>;

/** Slims a list of Services, Endpoints, EndpointSlices and Namespaces; throws naming a bad object. */
export function slimObjects(objects: readonly KubeObject[]): { services: ServiceRecord[]; endpoints: EndpointsRecord[]; namespaces: string[] } {
  const services: ServiceRecord[] = [];
  const endpoints: EndpointsRecord[] = [];
  const namespaces: string[] = [];
  objects.forEach((o, i) => {
    switch (o.kind) {
      case 'Service':
        services.push(slimService(o as ServiceLike));
        break;
      case 'Endpoints':
        endpoints.push(slimEndpoints(o as EndpointsLike));
        break;
      case 'EndpointSlice': {
        const e = slimEndpointSlice(o as EndpointSliceLike);
        if (e) endpoints.push(e);
        break;
      }
      case 'Namespace':
        namespaces.push(namespaceName(o as NamespaceLike));
        break;
      default:
        throw new Error(`object ${i}: kind "${String(o.kind)}" is not Service, Endpoints, EndpointSlice or Namespace`);
    }
  });
  return { services, endpoints, namespaces };
}

/** A fixed set of objects, replaceable at runtime (tests drive changes through it). */
export class StaticSource implements RecordSource {
  private index: ZoneIndex | undefined;

  constructor(private objects: readonly KubeObject[]) {}

  async run(index: ZoneIndex, signal: AbortSignal): Promise<void> {
    this.index = index;
    index.replaceAll(slimObjects(this.objects));
    index.markSynced();
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  set(objects: readonly KubeObject[]): void {
    this.objects = objects;
    this.index?.replaceAll(slimObjects(objects));
  }
}

/** Parses a records file: a JSON `List` ({"items": [...]}) or a JSON array. */
export function parseRecordsFile(text: string, path: string): KubeObject[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not JSON: ${(err as Error).message}`);
  }
  const items = Array.isArray(doc) ? doc : (doc as { items?: unknown })?.items;
  if (!Array.isArray(items)) throw new Error(`${path}: want a JSON array or a List with "items"`);
  return items as KubeObject[];
}

/**
 * A JSON file of objects, re-read when it changes (polled: works on every
 * filesystem and survives the temp+rename of an atomic write). A bad file
 * keeps the previous records and logs one line.
 */
export class FileSource implements RecordSource {
  constructor(
    private readonly path: string,
    private readonly log?: Logger,
    private readonly intervalMs = 500,
  ) {}

  load(): ReturnType<typeof slimObjects> {
    return slimObjects(parseRecordsFile(readFileSync(this.path, 'utf8'), this.path));
  }

  async run(index: ZoneIndex, signal: AbortSignal): Promise<void> {
    index.replaceAll(this.load());
    index.markSynced();
    const onChange = () => {
      try {
        index.replaceAll(this.load());
        this.log?.info({ path: this.path, ...index.counts() }, 'records file reloaded');
      } catch (err) {
        this.log?.error({ path: this.path, err: (err as Error).message }, 'records file rejected; keeping the previous records');
      }
    };
    watchFile(this.path, { interval: this.intervalMs }, onChange);
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    unwatchFile(this.path, onChange);
  }
}

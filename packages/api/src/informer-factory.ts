/**
 * One informer per (resource, namespace, selectors) per process: components
 * that run several loops over the same collection (the controller-manager's
 * replication and endpoints controllers both watch pods) share one list, one
 * watch and one cache instead of opening their own.
 */
import type { Logger } from '@pilot/common';
import type { KubeObject } from './types.js';
import { Informer, type InformerOptions, type ListWatchClient } from './informer.js';

export interface InformerFactoryOptions {
  logger?: Logger;
  resyncMs?: number;
  backoff?: InformerOptions['backoff'];
}

export class InformerFactory {
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly running = new Map<Informer<KubeObject>, Promise<void>>();
  private signal: AbortSignal | undefined;

  constructor(
    private readonly client: ListWatchClient,
    private readonly opts: InformerFactoryOptions = {},
  ) {}

  /** The shared informer for this resource and filter; created on first use. */
  informer<T extends KubeObject = KubeObject>(
    resource: string,
    filter: Pick<InformerOptions, 'namespace' | 'labelSelector' | 'fieldSelector'> = {},
  ): Informer<T> {
    const key = [resource, filter.namespace ?? '', filter.labelSelector?.toString() ?? '', filter.fieldSelector?.toString() ?? ''].join('|');
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new Informer<KubeObject>(this.client, resource, {
        ...filter,
        ...(this.opts.logger ? { logger: this.opts.logger } : {}),
        ...(this.opts.resyncMs ? { resyncMs: this.opts.resyncMs } : {}),
        ...(this.opts.backoff ? { backoff: this.opts.backoff } : {}),
      });
      this.informers.set(key, inf);
      // Informers asked for after start() start at once.
      if (this.signal) this.running.set(inf, inf.start(this.signal));
    }
    return inf as unknown as Informer<T>;
  }

  /** Starts every informer created so far (and any created later) until the signal aborts. */
  start(signal: AbortSignal): void {
    this.signal = signal;
    for (const inf of this.informers.values()) if (!this.running.has(inf)) this.running.set(inf, inf.start(signal));
  }

  /** Whether every informer created so far has synced. */
  hasSynced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced());
  }

  /** Resolves when every informer created so far has synced. */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync(signal)));
  }

  /** Resolves when every started informer has stopped (after the signal aborted). */
  async stopped(): Promise<void> {
    await Promise.all(this.running.values());
  }
}

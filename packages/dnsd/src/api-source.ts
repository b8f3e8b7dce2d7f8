import { Informer, type Endpoints, type ListWatchClient, type Namespace, type Service } from '@pilot/api';
import type { Logger } from '@pilot/common';
import { namespaceName, slimEndpoints, slimService } from './records.js';
import type { RecordSource } from './source.js';
import type { ZoneIndex } from './zone-index.js';

/**
 * The API as a record source: informers on Services, Endpoints and
 * Namespaces (no periodic resync, as CoreDNS), each event slimmed into the
 * index. The index is marked synced once all three have listed, so before
 * that cluster names get SERVFAIL rather than a wrong NXDOMAIN.
 */
export class ApiSource implements RecordSource {
  constructor(
    private readonly client: ListWatchClient,
    private readonly log: Logger,
  ) {}

  async run(index: ZoneIndex, signal: AbortSignal): Promise<void> {
    const services = new Informer<Service>(this.client, 'services', { logger: this.log });
    const endpoints = new Informer<Endpoints>(this.client, 'endpoints', { logger: this.log });
    const namespaces = new Informer<Namespace>(this.client, 'namespaces', { logger: this.log });

    const guard = (what: string, fn: () => void) => {
      try {
        fn();
      } catch (err) {
        // One malformed object must not stop the others from being served.
        this.log.warn({ err: (err as Error).message }, `ignoring ${what}`);
      }
    };
    services.addHandler({
      onAdd: (s) => guard('service', () => index.upsertService(slimService(s))),
      onUpdate: (_o, s) => guard('service', () => index.upsertService(slimService(s))),
      onDelete: (s) => guard('service', () => index.deleteService(s.metadata.namespace ?? 'default', s.metadata.name ?? '')),
    });
    endpoints.addHandler({
      onAdd: (e) => guard('endpoints', () => index.upsertEndpoints(slimEndpoints(e))),
      onUpdate: (_o, e) => guard('endpoints', () => index.upsertEndpoints(slimEndpoints(e))),
      onDelete: (e) => guard('endpoints', () => index.deleteEndpoints(e.metadata.namespace ?? 'default', e.metadata.name ?? '', 'endpoints')),
    });
    namespaces.addHandler({
      onAdd: (n) => guard('namespace', () => index.upsertNamespace(namespaceName(n))),
      onDelete: (n) => guard('namespace', () => index.deleteNamespace(n.metadata.name ?? '')),
    });

    const running = Promise.all([services.start(signal), endpoints.start(signal), namespaces.start(signal)]);
    try {
      await Promise.all([services.waitForSync(signal), endpoints.waitForSync(signal), namespaces.waitForSync(signal)]);
      index.markSynced();
      this.log.info(index.counts(), 'records synced from the API');
    } catch (err) {
      if (!signal.aborted) throw err;
    }
    await running;
  }
}

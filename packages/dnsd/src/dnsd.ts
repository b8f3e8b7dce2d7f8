import { every, type Logger } from '@pilot/common';
import { localAddresses } from './acl.js';
import type { Registry } from 'prom-client';
import { RecursionAcl } from './acl.js';
import { Answerer, type PodMode } from './answer.js';
import { AnswerCache } from './cache.js';
import { ForwardCache, Forwarder, formatUpstream, type Exchanger, type Upstream } from './forward.js';
import { QueryHandler } from './handler.js';
import { DnsMetrics } from './metrics.js';
import { DnsServer } from './server.js';
import type { RecordSource } from './source.js';
import { ZoneIndex } from './zone-index.js';

export interface DnsdConfig {
  zone: string;
  ttl: number;
  pods: PodMode;
  /** TCP listen host; "0.0.0.0" = all addresses. */
  tcpHost: string;
  port: number;
  /** Concrete addresses UDP binds to. */
  udpAddresses: string[];
  /** Also answer UDP on every address of this namespace, as they come and go. */
  udpAllLocal?: boolean;
  /** Addresses `ns.dns.<zone>` resolves to (the advertise address / cluster IP). */
  nameservers: string[];
  upstreams: Upstream[];
  forwardTimeoutMs: number;
  /** TCP: a whole message within this long of its first byte (default 2 s). */
  tcpReadMs?: number;
  /** TCP: a connection without a new message for this long is closed (default 10 s). */
  tcpIdleMs?: number;
  /** Rotate several A/AAAA records on each cached answer, cluster and upstream (CoreDNS's loadbalance; default on). */
  loadbalance?: boolean;
  /** Also export CoreDNS's metric names (default on; off only to measure what they cost). */
  corednsMetrics?: boolean;
  recursionNetworks: string[];
  source: RecordSource;
  log: Logger;
  registry?: Registry;
  exchanger?: Exchanger;
}

/**
 * One dnsd: the record index fed by a source, the answerer over it, the wire
 * cache (cleared on every index change), the forwarder and the sockets.
 * Used by the bin and, in-process, by tests and the benchmark.
 */
export class Dnsd {
  readonly index = new ZoneIndex();
  readonly cache: AnswerCache;
  readonly forwarder: Forwarder;
  readonly handler: QueryHandler;
  readonly server: DnsServer;
  readonly metrics: DnsMetrics | undefined;
  private readonly abort = new AbortController();
  private sourceDone: Promise<void> | undefined;
  private tracking: Promise<void> | undefined;

  constructor(readonly config: DnsdConfig) {
    const log = config.log;
    this.cache = new AnswerCache({ rotate: config.loadbalance ?? true });
    // CoreDNS's server label of a `.:53` block is dns://:53; a concrete bind address shows.
    const server = `dns://${config.tcpHost === '0.0.0.0' || config.tcpHost === '::' ? '' : config.tcpHost}:${config.port}`;
    this.metrics = config.registry ? new DnsMetrics(config.registry, { server, coredns: config.corednsMetrics ?? true }) : undefined;
    this.index.onChange(() => {
      this.cache.clear();
      this.metrics?.setIndexSize(this.index.counts());
    });
    this.forwarder = new Forwarder({
      upstreams: config.upstreams,
      timeoutMs: config.forwardTimeoutMs,
      cache: new ForwardCache(undefined, undefined, config.loadbalance ?? true),
      exchanger: config.exchanger,
      onUpstreamFailure: (u, err) => {
        this.metrics?.upstreamFailures.labels(formatUpstream(u)).inc();
        log.debug({ upstream: formatUpstream(u), err: err.message }, 'upstream failed');
      },
      onExchange: this.metrics ? (u, rcode, seconds) => this.metrics!.forwardExchange(formatUpstream(u), rcode, seconds) : undefined,
    });
    if (this.metrics) {
      const caches = [this.cache, this.forwarder.cache];
      this.metrics.cacheEntries = () => {
        const kinds = caches.map((c) => c.kinds());
        return { success: kinds.reduce((n, k) => n + k.success, 0), denial: kinds.reduce((n, k) => n + k.denial, 0) };
      };
    }
    this.handler = new QueryHandler({
      answerer: new Answerer(this.index, { zone: config.zone, ttl: config.ttl, pods: config.pods, nameservers: config.nameservers }),
      cache: this.cache,
      acl: new RecursionAcl(config.recursionNetworks),
      forwarder: this.forwarder,
      log,
      onOutcome: this.metrics ? (o, t) => this.metrics!.observe(o, t) : undefined,
    });
    this.server = new DnsServer({
      handler: this.handler,
      tcpHost: config.tcpHost,
      port: config.port,
      udpAddresses: config.udpAddresses,
      log,
      tcpReadMs: config.tcpReadMs,
      tcpIdleMs: config.tcpIdleMs,
      onTcpClose: this.metrics ? (reason) => this.metrics!.tcpClosed.labels(reason).inc() : undefined,
    });
  }

  /** Starts the source and the sockets; resolves once listening (not necessarily synced). */
  async start(): Promise<void> {
    const { log } = this.config;
    this.sourceDone = this.config.source.run(this.index, this.abort.signal).catch((err: Error) => {
      log.error({ err: err.message }, 'record source stopped');
    });
    await this.server.start();
    if (this.config.udpAllLocal) {
      // Polled (getifaddrs sees this namespace's addresses): cheap, and a
      // new address is answered within a couple of seconds.
      this.tracking = every(2000, () => this.trackAddresses(), {
        signal: this.abort.signal,
        onError: (err) => log.warn({ err: (err as Error).message }, 'UDP address tracking failed; retrying'),
      });
    }
    log.info(
      {
        tcp: `${this.config.tcpHost}:${this.server.port}`,
        udp: this.server.udpAddresses,
        zone: this.config.zone,
        upstreams: this.config.upstreams.map(formatUpstream),
        recursion: this.config.recursionNetworks,
      },
      'dnsd listening',
    );
  }

  private async trackAddresses(): Promise<void> {
    const want = new Set(this.config.udpAddresses);
    // Link-local IPv6 needs a scope id to bind; it is never a DNAT target anyway.
    for (const a of localAddresses()) if (!a.toLowerCase().startsWith('fe80:')) want.add(a);
    const before = this.server.udpAddresses.sort().join(',');
    await this.server.setUdpAddresses([...want]);
    const after = this.server.udpAddresses.sort().join(',');
    if (before !== after) this.config.log.info({ udp: this.server.udpAddresses }, 'UDP addresses changed');
  }

  get port(): number {
    return this.server.port;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.tracking;
    await this.server.stop();
    this.forwarder.close();
    await this.sourceDone;
  }
}

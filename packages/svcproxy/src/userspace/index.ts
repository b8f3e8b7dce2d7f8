export { UserspaceProxier, DEFAULT_UDP_IDLE_TIMEOUT_MS, DEFAULT_DESCRIPTOR_CHECK_MS, DEFAULT_MAX_CONNECTIONS_PER_SOURCE } from './proxier.js';
export { SourceConnectionLimit } from './source-limit.js';
export { DescriptorWatch, parseNofileLimit, probeOwnDescriptors, isExhausted, DESCRIPTORS_PER_CONNECTION } from './descriptors.js';
export type { DescriptorUsage, DescriptorWatchOptions } from './descriptors.js';
export type { UserspaceProxierOptions, UserspaceSyncResult } from './proxier.js';
export { RoundRobinBalancer } from './roundrobin.js';
export type { AffinityPolicy, BalancerOptions } from './roundrobin.js';
export { SessionTable } from './udp-sessions.js';
export { dialWithRetry, DialError, DIAL_TIMEOUTS_MS, isDescriptorExhaustion } from './dial.js';
export type { DialFailure, DialOptions } from './dial.js';
export {
  buildPortalRules,
  renderPortalRestore,
  renderUserspaceRemoval,
  removalFor,
  USERSPACE_CHAIN,
  USERSPACE_CHAINS,
  USERSPACE_JUMPS,
  IPTABLES_MODE_CHAINS,
} from './rules.js';
export type { Portal, PortalConfig, PortalRules, OwnedChains } from './rules.js';
export { IptablesPortalSink, NoPortalRules } from './apply.js';
export type { PortalRuleSink } from './apply.js';
export { createUserspaceMetrics } from './metrics.js';
export type { ServiceTraffic, UserspaceMetrics } from './metrics.js';
export { TcpPortal, dialTcp } from './tcp.js';
export { UdpPortal } from './udp.js';
export { UserspaceProvider } from './provider.js';
export type { UserspaceProviderOptions } from './provider.js';
export { detectListenIP, prefsrcFromRouteGet, ListenIPError } from './listen-ip.js';

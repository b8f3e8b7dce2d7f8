export { Cluster, Host, Pod, parseEnvFile, waitForPort } from './cluster.js';
export type { ClusterOptions, DnsConfig, ExecOptions } from './cluster.js';
export { Daemon } from './daemon.js';
export type { DaemonSpec, Exit } from './daemon.js';
export { Etcd } from './etcd.js';
export { removeLeftovers, removeRun, namespacesOf } from './cleanup.js';
export { lockHeld } from './lock.js';
export { STATE_ROOT, prefixOf } from './paths.js';
export { withLogsOnFailure } from './jest.js';

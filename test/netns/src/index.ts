export { Cluster, Host, Pod, waitForPort } from './cluster.js';
// subnet.env readers in tests use the same parser as the daemons.
export { parseEnvFile } from '@pilot/common';
export type { ClusterOptions, DnsConfig, ExecOptions } from './cluster.js';
export { Daemon } from './daemon.js';
export type { DaemonSpec, Exit } from './daemon.js';
export { Etcd } from './etcd.js';
export { removeLeftovers, removeRun, namespacesOf } from './cleanup.js';
export { lockHeld } from './lock.js';
export { isAlive } from './sys.js';
export { STATE_ROOT, prefixOf } from './paths.js';
export { withLogsOnFailure } from './jest.js';
export { createPki, writeKubeconfig } from './pki.js';
export type { Pki } from './pki.js';
export { startControlPlane, startInProcess, freeLocalPort, PILOT_BIN } from './controlplane.js';
export type { ControlPlane, ControlPlaneOptions, InProcess } from './controlplane.js';

export { Cluster, Host, NetnsPod, waitForPort } from './cluster.js';
// subnet.env readers in tests use the same parser as the daemons.
export { parseEnvFile } from '@pilot/common';
export type { ClusterOptions, DnsConfig, ExecOptions } from './cluster.js';
// What `pilot up` and the harness share lives in orchestrator-core's up/;
// tests keep importing it from here.
export { Daemon, isAlive, IMAGE_NAMES, cgroupsOf, cgroupPids, mountsUnder, createPki, etcdPkiOf, kubeletServingCert, loadPki, writeKubeconfig } from '@pilot/orchestrator-core/up';
export type { DaemonSpec, EtcdClientTls, EtcdPki, Exit, Identity, ImageSet, Pki, TestUser } from '@pilot/orchestrator-core/up';
export { Etcd, EtcdCluster, type EtcdServer, type EtcdTlsOptions } from './etcd.js';
export { removeLeftovers, removeRun, namespacesOf } from './cleanup.js';
export { lockHeld } from './lock.js';
export { STATE_ROOT, prefixOf } from './paths.js';
export { withLogsOnFailure } from './jest.js';
export { foreignClientCert } from './foreign-cert.js';
export { startControlPlane, startInProcess, spawnComponent, freeLocalPort, PILOT_BIN } from './controlplane.js';
export type { ControlPlane, ControlPlaneOptions, InProcess, KubeconfigIdentity } from './controlplane.js';
export { Dockerd, dockerOptsFromFile, dockerOptsFromSubnetEnv, cgroupParentOf, ping as pingDocker, unreachableNameservers } from './dockerd.js';
export type { DockerdOptions } from './dockerd.js';
export { Registry } from './registry.js';
export { ensureImages } from './images.js';
export { startSeedCluster, SEED_CLUSTER_CIDR, SEED_DNS_IP, SEED_ZONE } from './seed-cluster.js';
export type { SeedCluster, SeedClusterOptions } from './seed-cluster.js';

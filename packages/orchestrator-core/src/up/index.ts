/**
 * `@pilot/orchestrator-core/up`: the parts of `pilot up` the netns harness
 * starts its clusters with too (one way to start etcd, dockerd, a registry,
 * a PKI; one way to run and stop a child process), without loading the
 * control plane. `pilot up` itself is the `up`, `status` and `down` rows of
 * the CLI.
 */
export { Daemon } from './daemon.js';
export type { DaemonSpec, Exit } from './daemon.js';
export { isAlive, killPidsSync, processRef, processStartTime, runSync, sleepSync, stillRunning } from './process.js';
export type { ProcessRef } from './process.js';
export { cgroupNames, cgroupPids, cgroupsOf, killCgroupProcs, removeCgroups } from './cgroups.js';
export type { CgroupGroup } from './cgroups.js';
export { mountsUnder, unmountUnder } from './mounts.js';
export { createEtcdPki, createPki, etcdPkiOf, identityKey, issueCert, kubeletServingCert, loadPki, selfSignedCa, writeKubeconfig } from '../pki/pki.js';
export type { EtcdPki, Identity, Pki, PkiOptions, TestUser } from '../pki/pki.js';
export { etcdArgv, etcdHealthy } from './etcd.js';
export type { EtcdClientTls, EtcdMember, EtcdServerTls } from './etcd.js';
export { containerdPidOf, daemonJson, dockerdArgv, dockerdLayout, dockerOptsFromFile, dockerOptsFromSubnetEnv, loadImageIfMissing, pingDocker } from './dockerd.js';
export type { DaemonJsonOptions, DockerdLayout } from './dockerd.js';
export { registryArgv, registryConfig } from './registry.js';
export { IMAGE_NAMES } from './image-set.js';
export type { ImageSet } from './image-set.js';
export { DEFAULT_STATE_DIR } from './flags.js';
export { stateLayout } from './state.js';
export type { StateLayout } from './state.js';
export { planIptablesCleanup, OWNERSHIP_DEFAULTS } from './cleanup-plan.js';

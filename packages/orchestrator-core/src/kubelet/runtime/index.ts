export * from './runtime.js';
export { connectDocker, DockerRuntime, DockerVersionError, negotiateApiVersion, socketPathOf, dockerMessage, MIN_API_VERSION, MAX_API_VERSION, DEFAULT_POD_INFRA_IMAGE } from './docker.js';
export type { DockerRuntimeOptions } from './docker.js';
export { FakeRuntime } from './fake.js';
export type { FakeCall } from './fake.js';
export { LABELS, CONTAINER_TYPE, ANNOTATION_PREFIX, makeSandboxName, makeContainerName, parseName, makeLabels, extractLabels } from './naming.js';
export { sandboxCreateOptions, containerCreateOptions, renderResolvConf, linuxResources, milliCpuToShares, milliCpuToQuota } from './docker-spec.js';
export { containerStatusOf, sandboxStatusOf, dockerTime } from './docker-status.js';
export { normalizeImage, parseImageRef, credentialsFor, pullAuth } from './images.js';

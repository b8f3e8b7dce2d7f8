/**
 * The Kubernetes version pilot speaks, in one place: the apiserver's
 * /version (kubectl on this machine picks its binary by the minor) and the
 * kubelet's status.nodeInfo.kubeletVersion (the VERSION column of
 * `kubectl get nodes`).
 */
export const KUBERNETES_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-pilot' } as const;

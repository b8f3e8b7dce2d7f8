/** The images every cluster runs, and where a built set lives (the netns harness's images.ts builds one; a registry over it serves it: registry.ts). */

export const IMAGE_NAMES = {
  busybox: 'busybox',
  mynode: 'guest/mynode',
  pause: 'registry.k8s.io/pause:3.10',
} as const;

export interface ImageSet {
  hash: string;
  dir: string;
  registryRoot: string;
  pauseTar: string;
}

/** The images every cluster serves, and where a built set lives (images.ts builds it, registry.ts serves it). */

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

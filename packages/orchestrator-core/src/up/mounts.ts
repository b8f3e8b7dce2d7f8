import { readFileSync } from 'node:fs';
import { runSync } from './process.js';

/**
 * dockerd mounts under its data and exec roots (overlay2 layers, the data
 * root made private, container shm, netns bind mounts). A state directory is
 * removed only after every mount below it is gone, or rm would walk into
 * container filesystems and the mounts would outlive the run.
 */

/** `\040`-style escapes of /proc/self/mountinfo decoded. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points at or below dir, deepest first. */
export function mountsUnder(dir: string): string[] {
  const base = dir.replace(/\/+$/, '');
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const points = new Set<string>();
  for (const line of text.split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    const p = unescape(mp);
    if (p === base || p.startsWith(`${base}/`)) points.add(p);
  }
  return [...points].sort((a, b) => b.split('/').length - a.split('/').length || b.length - a.length);
}

/** Unmounts everything at or below dir (lazily when busy); returns what could not be unmounted. */
export function unmountUnder(dir: string): string[] {
  // A mount point can be stacked (mounted twice), so go round until nothing is left.
  for (let round = 0; round < 10; round++) {
    const points = mountsUnder(dir);
    if (!points.length) return [];
    for (const p of points) {
      if (runSync(['umount', p]).code !== 0) runSync(['umount', '-l', p]);
    }
  }
  return mountsUnder(dir);
}

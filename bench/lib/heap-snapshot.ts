import { readFileSync } from 'node:fs';

/**
 * What a V8 heap snapshot's bytes are: self size summed per node type and
 * constructor name (strings, arrays, code and closures each as one group),
 * largest first. Self sizes only: retained sizes need the dominator tree,
 * and for "what dominates the heap" the groups are enough.
 */

export interface HeapGroup {
  what: string;
  count: number;
  bytes: number;
  mib: string;
  share: string;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export function summariseHeapSnapshot(file: string, top: number): HeapGroup[] {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const stride = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, { count: number; bytes: number }>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += stride) {
    const type = types[snap.nodes[i + typeAt]!]!;
    const size = snap.nodes[i + sizeAt]!;
    total += size;
    // Objects by constructor; everything else by its type (each string is its own name).
    const what = type === 'object' || type === 'native' ? `${snap.strings[snap.nodes[i + nameAt]!]} (${type})` : `(${type})`;
    const g = groups.get(what) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += size;
    groups.set(what, g);
  }
  return [...groups.entries()]
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .slice(0, top)
    .map(([what, g]) => ({ what, count: g.count, bytes: g.bytes, mib: (g.bytes / 2 ** 20).toFixed(1), share: `${((100 * g.bytes) / total).toFixed(1)}%` }));
}

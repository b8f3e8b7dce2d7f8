/**
 * What the apiserver's pre-parse scan of a JSON body (scanJson: the
 * 10,000-level depth limit, and repeated keys under fieldValidation Strict or
 * Warn, the default) costs beside its anchor, JSON.parse of the same text,
 * which every write pays anyway. Same machine, same run.
 * Run: node_modules/.bin/tsx bench/apiserver/body-scan.ts
 */
import { scanJson } from '../../packages/api/src/json-scan.js';
import { fmt, table } from '../lib/report.js';

const pod = JSON.stringify({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-1', namespace: 'default', labels: { app: 'web', tier: 'frontend' }, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(400) } },
  spec: {
    containers: [
      { name: 'web', image: 'guest/mynode:1', ports: [{ containerPort: 8080, protocol: 'TCP' }], env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], resources: { requests: { cpu: '100m', memory: '64Mi' } } },
      { name: 'sidecar', image: 'busybox', command: ['sh', '-c', 'sleep 3600'] },
    ],
    restartPolicy: 'Always',
    nodeSelector: { disk: 'ssd' },
  },
});
const configMap = JSON.stringify({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'big' },
  data: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`key-${i}`, `value ${i} `.repeat(40)])),
});

function usPerOp(fn: () => unknown, rounds: number): number {
  for (let i = 0; i < Math.max(50, rounds / 20); i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) fn();
  return Number(process.hrtime.bigint() - t0) / rounds / 1000;
}

const rows: string[][] = [];
for (const [name, text, rounds] of [
  [`Pod (${pod.length} B)`, pod, 50_000],
  [`ConfigMap (${(configMap.length / 1024).toFixed(0)} KiB)`, configMap, 200],
] as const) {
  const parse = usPerOp(() => JSON.parse(text), rounds);
  const depth = usPerOp(() => scanJson(text), rounds);
  const dups = usPerOp(() => scanJson(text, { duplicates: true }), rounds);
  rows.push([name, fmt(parse, 2), fmt(depth, 2), fmt(depth / parse, 2), fmt(dups, 2), fmt(dups / parse, 2)]);
}
table('JSON body scan vs JSON.parse (µs per body)', ['body', 'JSON.parse (anchor)', 'scan: depth', 'ratio', 'scan: depth + duplicates', 'ratio'], rows);

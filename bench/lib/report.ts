/**
 * What every benchmark prints with: nearest-rank quantiles and a plain text
 * table, so all of bench/ reads the same way (figure, anchor, ratio).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Nearest-rank quantile (q in 0..1) of a sample; NaN for an empty one. */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

/** A number with `d` decimals, or `n/a` when there is none. */
export const fmt = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

/** Prints a titled table with padded columns. */
export function table(title: string, head: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  process.stdout.write(`\n${title}\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('-|-')}\n${rows.map(line).join('\n')}\n`);
}

/*
 * The `make bench` table. Each bench records its headline figures as rows;
 * `make bench` gives every run a fresh $BENCH_RESULTS directory and
 * bench/summary.ts prints all of them as one table at the end.
 */

/** Which way a figure improves. The ratio is always pilot ÷ anchor, so it improves the same way. */
export type Better = 'higher' | 'lower';

/** What a figure must reach: on the value itself or on the ratio to its anchor. */
export interface Goal {
  on: 'value' | 'ratio';
  /** At least this when higher is better, at most this when lower is better. */
  bound: number;
}

/** One headline figure, as a bench records it. */
export interface BenchRow {
  bench: string;
  figure: string;
  unit: string;
  value: number;
  better: Better;
  /** What the anchor is (e.g. "etcd, same data"). */
  anchor: string;
  /** The anchor measured in the same run; absent when none is runnable here. */
  anchorValue?: number;
  /** The published anchor with its source, used when there is no runnable one. */
  published?: { value: number; source: string };
  goal?: Goal;
  runs: number;
  note?: string;
}

/** What `make bench` records about each bench process (bench/summary.ts --exit). */
export interface BenchExit {
  bench: string;
  exitCode: number;
}

/** One line of rows.jsonl. */
export type ResultLine = ({ kind: 'row' } & BenchRow) | ({ kind: 'exit' } & BenchExit);

export const RESULTS_FILE = 'rows.jsonl';

/** pilot ÷ the anchor (same-run, else published); NaN when there is neither. */
export function ratioOf(row: BenchRow): number {
  const anchor = row.anchorValue ?? row.published?.value;
  return anchor === undefined || anchor === 0 ? NaN : row.value / anchor;
}

/** Whether the row meets its goal; undefined when it has none or the figure is missing. */
export function goalMet(row: BenchRow): boolean | undefined {
  if (!row.goal) return undefined;
  const x = row.goal.on === 'ratio' ? ratioOf(row) : row.value;
  if (!Number.isFinite(x)) return undefined;
  return row.better === 'higher' ? x >= row.goal.bound : x <= row.goal.bound;
}

/** The goal as text: "≥ 400 pods/s", "ratio ≤ 1.5x". */
export function goalText(row: BenchRow): string {
  if (!row.goal) return '-';
  const op = row.better === 'higher' ? '≥' : '≤';
  return row.goal.on === 'ratio' ? `ratio ${op} ${row.goal.bound}x` : `${op} ${row.goal.bound} ${row.unit}`;
}

/** Where rows go: $BENCH_RESULTS/rows.jsonl, or nowhere when BENCH_RESULTS is unset. */
function resultsFile(): string | undefined {
  const dir = process.env.BENCH_RESULTS;
  return dir ? join(dir, RESULTS_FILE) : undefined;
}

/** Appends one line in one O_APPEND write, so concurrent writers never interleave within a line. */
export function appendResult(line: ResultLine, file = resultsFile()): void {
  if (!file) return;
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, JSON.stringify(line) + '\n');
}

/** Records a headline figure for the `make bench` table (a no-op without BENCH_RESULTS). */
export function recordRow(row: BenchRow): void {
  if (row.anchorValue === undefined && !row.published) throw new Error(`bench row ${row.bench}/${row.figure}: needs a same-run anchorValue or a published anchor`);
  appendResult({ kind: 'row', ...row });
}

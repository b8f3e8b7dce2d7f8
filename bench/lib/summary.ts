/**
 * The `make bench` table: reads the rows every bench recorded in
 * $BENCH_RESULTS/rows.jsonl (report.ts recordRow) and the exit code make
 * recorded for each bench, and lays them out as one table. Pure; the entry
 * point is bench/summary.ts.
 */
import { fmt, goalMet, goalText, ratioOf, type BenchExit, type BenchRow } from './report.js';

export interface Results {
  rows: BenchRow[];
  exits: BenchExit[];
}

const isNum = (x: unknown): boolean => typeof x === 'number' || x === null; // JSON writes NaN as null

/** Parses rows.jsonl; a bad line throws one line naming the file and line number. */
export function parseResults(text: string, file = 'rows.jsonl'): Results {
  const out: Results = { rows: [], exits: [] };
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const where = `${file}:${i + 1}`;
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`${where}: not JSON (${(e as Error).message}): ${line.slice(0, 80)}`);
    }
    if (v.kind === 'exit') {
      if (typeof v.bench !== 'string' || typeof v.exitCode !== 'number') throw new Error(`${where}: an exit line needs bench (string) and exitCode (number): ${line.slice(0, 80)}`);
      out.exits.push({ bench: v.bench, exitCode: v.exitCode });
      return;
    }
    if (v.kind !== 'row') throw new Error(`${where}: kind must be "row" or "exit", got ${JSON.stringify(v.kind)}`);
    const missing = ['bench', 'figure', 'unit', 'anchor'].filter((k) => typeof v[k] !== 'string');
    if (!isNum(v.value)) missing.push('value');
    if (v.better !== 'higher' && v.better !== 'lower') missing.push('better ("higher"|"lower")');
    if (typeof v.runs !== 'number') missing.push('runs');
    if (missing.length) throw new Error(`${where}: a row needs ${missing.join(', ')}: ${line.slice(0, 80)}`);
    const num = (x: unknown) => (x === null ? NaN : (x as number));
    const { kind: _kind, ...row } = v;
    out.rows.push({ ...(row as unknown as BenchRow), value: num(v.value), ...(v.anchorValue !== undefined ? { anchorValue: num(v.anchorValue) } : {}) });
  });
  return out;
}

/** A figure with decimals that suit its size (1234 → "1234", 12.3 → "12.3", 0.123 → "0.12"). */
export function fmtValue(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  const a = Math.abs(x);
  return fmt(x, a >= 100 ? 0 : a >= 1 ? 1 : 2);
}

export const SUMMARY_HEAD = ['bench', 'figure', 'pilot', 'anchor', 'anchor value', 'ratio', 'better', 'goal', 'met', 'runs'] as const;

/** The table's rows: each recorded figure, then a line for each bench that failed or recorded nothing. */
export function summaryRows({ rows, exits }: Results): string[][] {
  const out = rows.map((r) => {
    const anchorValue = r.anchorValue !== undefined ? `${fmtValue(r.anchorValue)} ${r.unit}` : r.published ? `${fmtValue(r.published.value)} ${r.unit} (published)` : '-';
    const anchor = r.anchorValue === undefined && r.published ? `${r.anchor} (${r.published.source})` : r.anchor;
    const met = goalMet(r);
    return [
      r.bench,
      r.figure + (r.note ? ` (${r.note})` : ''),
      `${fmtValue(r.value)} ${r.unit}`,
      anchor,
      anchorValue,
      `${fmt(ratioOf(r), 2)}x`,
      r.better,
      goalText(r),
      met === undefined ? (r.goal ? 'n/a' : '-') : met ? 'yes' : 'NO',
      String(r.runs),
    ];
  });
  const recorded = new Set(rows.map((r) => r.bench));
  for (const e of exits) {
    if (e.exitCode !== 0) out.push([e.bench, `FAILED (exit ${e.exitCode})`, ...SUMMARY_HEAD.slice(2).map(() => '-')]);
    else if (!recorded.has(e.bench)) out.push([e.bench, 'no figures recorded', ...SUMMARY_HEAD.slice(2).map(() => '-')]);
  }
  return out;
}

/** The benches that exited non-zero. */
export const failedBenches = ({ exits }: Results): string[] => exits.filter((e) => e.exitCode !== 0).map((e) => e.bench);

/**
 * What every benchmark prints with: nearest-rank quantiles and a plain text
 * table, so all of bench/ reads the same way (figure, anchor, ratio).
 */

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

/**
 * Prints the `make bench` table from a results directory and exits non-zero
 * when any bench failed.
 *
 *   tsx bench/summary.ts <dir>                      print the table of <dir>/rows.jsonl
 *   tsx bench/summary.ts --exit <dir> <bench> <code>  record how a bench process ended
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { appendResult, RESULTS_FILE, table } from './lib/report.js';
import { failedBenches, parseResults, SUMMARY_HEAD, summaryRows } from './lib/summary.js';

const args = process.argv.slice(2);
if (args[0] === '--exit') {
  const [, dir, bench, code] = args;
  if (!dir || !bench || code === undefined || !/^\d+$/.test(code)) throw new Error(`usage: summary.ts --exit <dir> <bench> <exit code>, got ${args.join(' ')}`);
  appendResult({ kind: 'exit', bench, exitCode: Number(code) }, join(dir, RESULTS_FILE));
} else {
  const dir = args[0] ?? process.env.BENCH_RESULTS;
  if (!dir) throw new Error('usage: summary.ts <results dir> (or BENCH_RESULTS)');
  const file = join(dir, RESULTS_FILE);
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const results = parseResults(text, file);
  table(`make bench (${file}); ratio = pilot ÷ anchor, "better" says which way both improve`, SUMMARY_HEAD, summaryRows(results));
  const failed = failedBenches(results);
  if (failed.length) {
    process.stderr.write(`bench: failed: ${failed.join(', ')}\n`);
    process.exitCode = 1;
  }
}

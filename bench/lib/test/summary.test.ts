import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { goalMet, goalText, ratioOf, recordRow, type BenchRow } from '../report.js';
import { failedBenches, fmtValue, parseResults, summaryRows } from '../summary.js';

const row = (over: Partial<BenchRow> = {}): BenchRow => ({
  bench: 'scheduler', figure: 'pods/s', unit: 'pods/s', value: 500, better: 'higher', anchor: 'plain binds', anchorValue: 1000, runs: 3, ...over,
});

describe('ratio and goal', () => {
  test('ratio is pilot ÷ the same-run anchor, else the published one', () => {
    expect(ratioOf(row())).toBe(0.5);
    expect(ratioOf(row({ anchorValue: undefined, published: { value: 250, source: 'x' } }))).toBe(2);
    expect(ratioOf(row({ anchorValue: 0 }))).toBeNaN();
  });
  test('a goal on the value or on the ratio follows the better direction', () => {
    expect(goalMet(row({ goal: { on: 'value', bound: 400 } }))).toBe(true);
    expect(goalMet(row({ goal: { on: 'value', bound: 680 } }))).toBe(false);
    expect(goalMet(row({ better: 'lower', value: 3000, anchorValue: 1000, goal: { on: 'ratio', bound: 2 } }))).toBe(false);
    expect(goalMet(row({ better: 'lower', value: 1500, anchorValue: 1000, goal: { on: 'ratio', bound: 2 } }))).toBe(true);
    expect(goalMet(row())).toBeUndefined();
    expect(goalMet(row({ value: NaN, goal: { on: 'value', bound: 1 } }))).toBeUndefined();
  });
  test('goal text', () => {
    expect(goalText(row({ goal: { on: 'value', bound: 400 } }))).toBe('≥ 400 pods/s');
    expect(goalText(row({ better: 'lower', goal: { on: 'ratio', bound: 1.5 } }))).toBe('ratio ≤ 1.5x');
    expect(goalText(row())).toBe('-');
  });
});

describe('formatting', () => {
  test('decimals follow the size', () => {
    expect([fmtValue(1234.4), fmtValue(12.34), fmtValue(0.1234), fmtValue(NaN)]).toEqual(['1234', '12.3', '0.12', 'n/a']);
  });
  test('rows, published anchors, failed and silent benches', () => {
    const text = [
      JSON.stringify({ kind: 'row', ...row({ goal: { on: 'value', bound: 680 } }) }),
      JSON.stringify({ kind: 'row', ...row({ bench: 'controllers', figure: 'failover', unit: 's', value: 9, better: 'lower', anchor: 'upstream', anchorValue: undefined, published: { value: 17, source: 'lease 15s+2s' } }) }),
      JSON.stringify({ kind: 'exit', bench: 'scheduler', exitCode: 0 }),
      JSON.stringify({ kind: 'exit', bench: 'dnsd', exitCode: 2 }),
      JSON.stringify({ kind: 'exit', bench: 'kubelet', exitCode: 0 }),
      '',
    ].join('\n');
    const r = parseResults(text);
    expect(summaryRows(r)).toEqual([
      ['scheduler', 'pods/s', '500 pods/s', 'plain binds', '1000 pods/s', '0.50x', 'higher', '≥ 680 pods/s', 'NO', '3'],
      ['controllers', 'failover', '9.0 s', 'upstream (lease 15s+2s)', '17.0 s (published)', '0.53x', 'lower', '-', '-', '3'],
      ['dnsd', 'FAILED (exit 2)', '-', '-', '-', '-', '-', '-', '-', '-'],
      ['kubelet', 'no figures recorded', '-', '-', '-', '-', '-', '-', '-', '-'],
    ]);
    expect(failedBenches(r)).toEqual(['dnsd']);
  });
});

describe('parsing', () => {
  test('a bad line gives one line naming it', () => {
    const good = JSON.stringify({ kind: 'row', ...row() });
    expect(() => parseResults(`${good}\n{oops`, 'r.jsonl')).toThrow(/^r\.jsonl:2: not JSON/);
    expect(() => parseResults(`${good}\n\n${JSON.stringify({ kind: 'row', bench: 'x' })}`, 'r.jsonl')).toThrow(/^r\.jsonl:3: a row needs figure, unit, anchor, value, better/);
    expect(() => parseResults('{"kind":"what"}')).toThrow(/^rows\.jsonl:1: kind must be/);
    try {
      parseResults('{oops');
    } catch (e) {
      expect((e as Error).message).not.toContain('\n');
    }
  });
  test('NaN survives the round trip as n/a', () => {
    const r = parseResults(JSON.stringify({ kind: 'row', ...row({ value: NaN }) }));
    expect(r.rows[0]!.value).toBeNaN();
  });
});

describe('recordRow', () => {
  const saved = process.env.BENCH_RESULTS;
  afterEach(() => (saved === undefined ? delete process.env.BENCH_RESULTS : (process.env.BENCH_RESULTS = saved)));
  test('appends one JSON line under BENCH_RESULTS, nothing without it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-rows-'));
    try {
      delete process.env.BENCH_RESULTS;
      recordRow(row());
      process.env.BENCH_RESULTS = join(dir, 'run');
      recordRow(row());
      recordRow(row({ figure: 'second' }));
      const r = parseResults(readFileSync(join(dir, 'run', 'rows.jsonl'), 'utf8'));
      expect(r.rows.map((x) => x.figure)).toEqual(['pods/s', 'second']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test('a row without any anchor is refused', () => {
    expect(() => recordRow(row({ anchorValue: undefined }))).toThrow(/scheduler\/pods\/s: needs a same-run anchorValue or a published anchor/);
  });
});

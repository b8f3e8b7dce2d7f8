import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/**
 * deploy/prometheus as Prometheus itself reads it: promtool (from Debian's
 * prometheus package, fetched by make setup) checks the scrape config with
 * its rule file and the rules alone. Which metrics the rules name, and that
 * a running cluster exports each of them, is the seed e2e's check.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const PROMTOOL = join(root, 'node_modules/.cache/pilot/promtool');
const DIR = join(root, 'deploy/prometheus');

function promtool(args: string[]): string {
  return execFileSync(PROMTOOL, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('deploy/prometheus', () => {
  let dir: string;
  beforeAll(() => {
    // The config names the cluster CA and a token file beside it: placeholders stand in.
    dir = mkdtempSync(join(tmpdir(), 'pilot-prometheus-'));
    for (const f of ['prometheus.yml', 'rules.yml']) copyFileSync(join(DIR, f), join(dir, f));
    writeFileSync(join(dir, 'pilot-token'), 'placeholder\n');
    writeFileSync(join(dir, 'pilot-ca.crt'), '');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('promtool accepts the scrape config and its rule file', () => {
    const out = promtool(['check', 'config', join(dir, 'prometheus.yml')]);
    expect(out).toMatch(/SUCCESS: .*prometheus\.yml is valid prometheus config file syntax/);
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('promtool accepts the rules; every alert has a severity and a summary, every job it names is scraped', () => {
    expect(promtool(['check', 'rules', join(DIR, 'rules.yml')])).toMatch(/SUCCESS: \d+ rules found/);
    const rules = parse(readFileSync(join(DIR, 'rules.yml'), 'utf8')) as { groups: { rules: { alert: string; expr: string; labels?: { severity?: string }; annotations?: { summary?: string } }[] }[] };
    const jobs = new Set((parse(readFileSync(join(DIR, 'prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string }[] }).scrape_configs.map((s) => s.job_name));
    for (const r of rules.groups.flatMap((g) => g.rules)) {
      expect(`${r.alert}: ${r.labels?.severity ?? 'no severity'}`).toMatch(/: (critical|warning|info)$/);
      expect(r.annotations?.summary).toBeTruthy();
      for (const [, job] of r.expr.matchAll(/job="([^"]+)"/g)) expect(`${r.alert} → ${job} ${jobs.has(job!) ? 'scraped' : 'not scraped'}`).toBe(`${r.alert} → ${job} scraped`);
    }
  });
});

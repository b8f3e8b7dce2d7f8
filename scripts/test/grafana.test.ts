import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { parse, stringify } from 'yaml';
import { Metrics as OverlaydMetrics } from '../../packages/overlayd/src/metrics.js';
import { createProxierMetrics } from '../../packages/svcproxy/src/metrics.js';
import { DnsMetrics } from '../../packages/dnsd/src/metrics.js';
import { ApiMetrics } from '../../packages/orchestrator-core/src/apiserver/metrics.js';
import { schedulerMetrics } from '../../packages/orchestrator-core/src/scheduler/scheduler.js';

/**
 * deploy/grafana/pilot.json: every PromQL expression parses (promtool checks
 * each one wrapped as a recording rule), every selector names a scraped job,
 * and every metric it names is registered by the daemon behind that job —
 * names taken from the daemons' own registries, not from a list kept here.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const PROMTOOL = join(root, 'node_modules/.cache/pilot/promtool');
const DASHBOARD = join(root, 'deploy/grafana/pilot.json');

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}

const expressions = (): { title: string; expr: string }[] => {
  const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
  const all = d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  return all.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })));
};

/** Each daemon's registered metric names, by the Prometheus job that scrapes it (deploy/prometheus/prometheus.yml). */
async function exposedByJob(): Promise<Map<string, Set<string>>> {
  const names = async (register: (r: Registry) => unknown): Promise<Set<string>> => {
    const r = new Registry();
    register(r);
    return new Set((await r.getMetricsAsJSON()).map((m) => m.name));
  };
  return new Map([
    ['overlayd', await names((r) => new OverlaydMetrics(r))],
    ['kube-proxy', await names((r) => createProxierMetrics(r))],
    ['coredns', await names((r) => new DnsMetrics(r))],
    ['apiserver', new Set((await new ApiMetrics().registry.getMetricsAsJSON()).map((m) => m.name))],
    ['kube-scheduler', await names((r) => schedulerMetrics(r, 'default-scheduler'))],
  ]);
}

describe('deploy/grafana/pilot.json', () => {
  it('is an importable dashboard whose datasource is the ${DS_PROMETHEUS} input', () => {
    const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { __inputs: { name: string; pluginId: string }[]; panels: Panel[] };
    expect(d.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', pluginId: 'prometheus' })]);
    expect(d.panels.filter((p) => p.type === 'row').map((p) => p.title.split(' ')[0])).toEqual(['overlayd', 'svcproxy', 'dnsd', 'apiserver', 'scheduler']);
    expect(readFileSync(DASHBOARD, 'utf8').match(/"uid": "([^"]+)"/g)!.filter((u) => u.includes('DS_') === false && !u.includes('pilot-overview'))).toEqual([]);
  });

  it('promtool parses every expression (each wrapped as a recording rule)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pilot-grafana-'));
    try {
      const rules = { groups: [{ name: 'dashboard', rules: expressions().map((e, i) => ({ record: `pilot:dashboard_panel_${i}`, expr: e.expr })) }] };
      writeFileSync(join(dir, 'rules.yml'), stringify(rules));
      const out = execFileSync(PROMTOOL, ['check', 'rules', join(dir, 'rules.yml')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(out).toMatch(new RegExp(`SUCCESS: ${rules.groups[0]!.rules.length} rules found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every metric an expression names is registered by the daemon of the job it selects, and that job is scraped', async () => {
    const exposed = await exposedByJob();
    const scraped = new Set((parse(readFileSync(join(root, 'deploy/prometheus/prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string }[] }).scrape_configs.map((s) => s.job_name));
    const problems: string[] = [];
    for (const { title, expr } of expressions()) {
      const selectors = [...expr.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/g)];
      if (selectors.length === 0) problems.push(`${title}: no selector`);
      for (const [, name, matchers] of selectors) {
        const job = /\bjob="([^"]+)"/.exec(matchers!)?.[1];
        if (!job) {
          problems.push(`${title}: ${name} has no job matcher`);
          continue;
        }
        if (!scraped.has(job)) problems.push(`${title}: job ${job} is not scraped`);
        const base = name!.replace(/_(bucket|sum|count)$/, '');
        if (!exposed.get(job)?.has(base)) problems.push(`${title}: ${job} does not expose ${base}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

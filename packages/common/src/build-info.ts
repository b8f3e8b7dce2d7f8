import { readFileSync } from 'node:fs';
import { Gauge, type Registry } from 'prom-client';

/**
 * Which build is running: the version and the git commit the tree was built
 * from. `scripts/stamp-build-info.mjs` writes them to `build-info.json` at the
 * package root on every build (`make build`), so an installed tree, which has
 * no git, still knows; outside a git checkout the commit is `unknown`.
 */
export interface BuildInfo {
  version: string;
  gitCommit: string;
  /** `clean`, `dirty` (tracked files changed since the commit) or `unknown`. */
  gitTreeState: string;
}

// The package root, from src/ (tests) and dist/ (bins) alike.
const STAMP = new URL('../build-info.json', import.meta.url);
const PACKAGE_JSON = new URL('../package.json', import.meta.url);

let cached: BuildInfo | undefined;

function readJson(url: URL): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(url, 'utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The stamped build info (read once); `unknown` for whatever was not stamped. */
export function buildInfo(): BuildInfo {
  if (cached) return cached;
  const stamp = readJson(STAMP) ?? {};
  cached = {
    version: text(stamp.version) ?? text(readJson(PACKAGE_JSON)?.version) ?? 'unknown',
    gitCommit: text(stamp.gitCommit) ?? 'unknown',
    gitTreeState: text(stamp.gitTreeState) ?? 'unknown',
  };
  return cached;
}

/** What `<program> --version` prints: `dnsd 0.1.0 (git commit 6028f1e…, node v20.20.2)`. */
export function versionLine(program: string, info: BuildInfo = buildInfo()): string {
  const dirty = info.gitTreeState === 'dirty' ? ', dirty tree' : '';
  return `${program} ${info.version} (git commit ${info.gitCommit}${dirty}, node ${process.version})`;
}

/**
 * `<component>_build_info{version,git_commit,git_tree_state,node_version} 1`
 * (kube's `kubernetes_build_info`): which build each scraped process runs.
 */
export function registerBuildInfo(registry: Registry, component: string, info: BuildInfo = buildInfo()): void {
  const name = `${component.replace(/[^a-zA-Z0-9_]/g, '_')}_build_info`;
  const gauge = new Gauge({
    name,
    help: `A metric with a constant '1' value labeled by the version and git commit ${component} was built from`,
    labelNames: ['version', 'git_commit', 'git_tree_state', 'node_version'],
    registers: [registry],
  });
  gauge.set({ version: info.version, git_commit: info.gitCommit, git_tree_state: info.gitTreeState, node_version: process.version }, 1);
}

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** scripts/check-imports.mjs (run by `make test`) against small trees with planted faults. */
const SCRIPT = fileURLToPath(new URL('../check-imports.mjs', import.meta.url));
const BASE_TSCONFIG = readFileSync(fileURLToPath(new URL('../../tsconfig.base.json', import.meta.url)), 'utf8');

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'pilot-check-imports-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function tree(files: Record<string, string | object>): void {
  const all: Record<string, string | object> = {
    'package.json': { name: 'demo', private: true, workspaces: ['packages/a'] },
    'tsconfig.base.json': BASE_TSCONFIG,
    'packages/a/package.json': { name: '@demo/a', private: true, dependencies: {} },
    ...files,
  };
  for (const [path, content] of Object.entries(all)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), typeof content === 'string' ? content : JSON.stringify(content));
  }
}

function check() {
  const r = spawnSync(process.execPath, [SCRIPT, '--root', root], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, problems: r.stderr.split('\n').filter(Boolean) };
}

describe('the import checker', () => {
  const one = "import type { Two } from './two.js';\nexport interface One { two?: Two }\nexport const ONE = 1;\n";
  const two = "import { ONE } from './one.js';\nexport interface Two { n: number }\nexport const TWO = ONE + 1;\n";

  it('finds a cycle that exists only through an `import type` edge', () => {
    tree({ 'packages/a/src/one.ts': one, 'packages/a/src/two.ts': two });
    expect(check()).toEqual({ code: 1, problems: ['check-imports: import cycle: packages/a/src/one.ts -> packages/a/src/two.ts -> packages/a/src/one.ts'] });
  });

  it('passes the same files once the type edge is gone', () => {
    tree({ 'packages/a/src/one.ts': 'export interface One { two?: unknown }\nexport const ONE = 1;\n', 'packages/a/src/two.ts': two });
    expect(check()).toEqual({ code: 0, problems: [] });
  });

  it('finds a cycle through a lazy import() too, and ignores tests', () => {
    tree({
      'packages/a/src/table.ts': "export const load = () => import('./cmd.js');\n",
      'packages/a/src/cmd.ts': "import { load } from './table.js';\nexport const again = load;\n",
      'packages/a/test/x.test.ts': "import { load } from '../src/table.js';\nexport const x = load;\n",
    });
    expect(check().problems).toEqual(['check-imports: import cycle: packages/a/src/cmd.ts -> packages/a/src/table.ts -> packages/a/src/cmd.ts']);
  });

  it('names undeclared, unused and test-only dependencies and a package that is not private', () => {
    tree({
      'packages/a/package.json': { name: '@demo/a', dependencies: { commander: '^14.0.0', 'prom-client': '^15.1.3' } },
      'packages/a/src/metrics.ts': "import type { Registry } from 'prom-client';\nimport { readFileSync } from 'node:fs';\nimport { join } from 'path';\nexport type R = Registry;\nexport const f = [readFileSync, join];\n",
      'packages/a/src/log.ts': "import pino from 'pino/file';\nexport const log = pino;\n",
      'packages/a/test/log.test.ts': "import WebSocket from 'ws';\nexport const w = WebSocket;\n",
    });
    expect(check()).toEqual({
      code: 1,
      problems: [
        'check-imports: packages/a/package.json: not "private": true (workspace packages are not published)',
        'check-imports: packages/a/package.json: "pino" is imported by packages/a/src/log.ts but not in "dependencies"',
        'check-imports: packages/a/package.json: "commander" is in "dependencies" but nothing in packages/a/src imports it',
        'check-imports: packages/a/test/log.test.ts: imports "ws", which neither packages/a/package.json nor the root package.json declares',
      ],
    });
  });
});

#!/usr/bin/env node
// Stamps the build: writes build-info.json (version, git commit, tree state)
// at the package root, where src/build-info.ts reads it. Run by every build
// (`make build`), so `--version` and `<component>_build_info` name the commit
// even from an installed tree, which has no git. Outside a git checkout of
// this package the commit is "unknown". Usage: stamp-build-info.mjs [out.json]
import { execFileSync } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const out = process.argv[2] ?? `${packageDir}build-info.json`;

function git(args) {
  try {
    return execFileSync('git', ['-C', packageDir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

// Only a checkout that tracks this package counts: a package unpacked into
// some other repository's node_modules must not report that repository's commit.
const tracked = git(['ls-files', '--error-unmatch', 'package.json']) !== undefined;
const gitCommit = (tracked && git(['rev-parse', 'HEAD'])) || 'unknown';
const status = gitCommit === 'unknown' ? undefined : git(['status', '--porcelain', '--untracked-files=no']);
const gitTreeState = status === undefined ? 'unknown' : status === '' ? 'clean' : 'dirty';
const { version } = JSON.parse(readFileSync(`${packageDir}package.json`, 'utf8'));

const text = `${JSON.stringify({ version, gitCommit, gitTreeState }, null, 2)}\n`;
let old;
try {
  old = readFileSync(out, 'utf8');
} catch {
  old = undefined;
}
if (old !== text) {
  writeFileSync(`${out}.tmp`, text);
  renameSync(`${out}.tmp`, out);
}

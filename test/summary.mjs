#!/usr/bin/env node
// Prints one closing line for `make test` from jest's --json result files:
// "tests: N passed, N failed, N skipped". Exits non-zero if any file is missing
// (a suite that did not run must not look like a pass).
import { readFileSync } from 'node:fs';

let passed = 0, failed = 0, skipped = 0;
for (const file of process.argv.slice(2)) {
  let r;
  try {
    r = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    process.stderr.write(`summary: cannot read ${file}: ${err.message}\n`);
    process.exit(1);
  }
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
}
process.stdout.write(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);

/**
 * `make demo`: starts the demo's owner (demo/owner.ts) detached, in a
 * session of its own, and prints its output until the walkthrough is done
 * and the cluster is up; then returns, leaving the owner to keep the cluster.
 * When a demo is already up it says so in one line and starts nothing (`make
 * demo-down` first for a fresh one). Ctrl-C while it runs stops the owner,
 * which removes everything. Arguments are passed on to the owner.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LOG_FILE, STATE_FILE, readState, removeStateFiles, runningDemo } from './state.js';

const OWNER = fileURLToPath(new URL('./owner.ts', import.meta.url));
const TSX_LOADER = new URL('../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

const up = runningDemo();
if (up) {
  process.stdout.write(
    `demo: already up (run ${up.prefix}, owner pid ${up.owner.pid}${up.ready ? '' : ', still starting'}): kubectl --kubeconfig ${up.kubeconfig ?? '(not written yet)'} get nodes; make demo-down removes it\n`,
  );
  process.exit(0);
}
// A state file whose owner is gone: that owner crashed. Its cluster is a stale
// run (its lock is free), which the new owner's Cluster.create removes first.
if (readState()) removeStateFiles();

const log = openSync(LOG_FILE, 'w');
// One process (tsx as an --import loader, not the tsx CLI, which would add a parent): its PID is the owner's.
const owner = spawn(process.execPath, ['--import', TSX_LOADER, OWNER, ...process.argv.slice(2)], {
  detached: true,
  stdio: ['ignore', log, log],
  env: { ...process.env, PILOT_DEMO_STATE: STATE_FILE },
});
closeSync(log);
let exited: number | null | undefined;
owner.on('exit', (code, signal) => {
  exited = code ?? (signal ? 128 : 1);
});
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    // The owner removes what it made; keep printing until it has.
    interrupted = true;
    owner.kill('SIGTERM');
  });
}

const reader = openSync(LOG_FILE, 'r');
const buf = Buffer.alloc(64 * 1024);
const drain = (): void => {
  for (let n; (n = readSync(reader, buf, 0, buf.length, null)) > 0; ) process.stdout.write(buf.subarray(0, n));
};
for (;;) {
  drain();
  if (exited !== undefined) {
    drain();
    process.stderr.write(interrupted ? 'demo: interrupted; the owner removed the cluster\n' : `demo: the owner exited ${exited} before the cluster was up (output above)\n`);
    process.exit(interrupted ? 130 : 1);
  }
  const s = readState();
  if (!interrupted && s?.ready && s.owner.pid === owner.pid) {
    drain();
    owner.unref();
    process.exit(0);
  }
  await new Promise((r) => setTimeout(r, 200));
}

/**
 * Operator commands for the harness:
 *   tsx test/netns/src/cli.ts cleanup   remove leftovers of crashed runs (only runs whose lock is free)
 *   tsx test/netns/src/cli.ts list      show the namespaces of every run and whether it is live
 */
import { runSync } from '@pilot/orchestrator-core/up';
import { removeLeftovers } from './cleanup.js';
import { lockHeld } from './lock.js';
import { PREFIX_RE } from './paths.js';

const cmd = process.argv[2];
if (cmd === 'cleanup') {
  const removed = removeLeftovers();
  process.stdout.write(removed.length ? `removed leftovers of ${removed.join(', ')}\n` : 'no leftovers\n');
} else if (cmd === 'list') {
  const runs = new Map<number, string[]>();
  for (const line of runSync(['ip', 'netns', 'list']).stdout.split('\n')) {
    const ns = line.split(' ')[0] ?? '';
    const m = PREFIX_RE.exec(ns);
    if (m) runs.set(Number(m[1]), [...(runs.get(Number(m[1])) ?? []), ns]);
  }
  for (const [slot, nss] of runs) process.stdout.write(`plt${slot} ${lockHeld(slot) ? 'live' : 'stale'}: ${nss.join(' ')}\n`);
  if (!runs.size) process.stdout.write('no runs\n');
} else {
  process.stderr.write('usage: cli.ts cleanup|list\n');
  process.exit(2);
}

#!/usr/bin/env node
// Exit 0 when a TCP connection to HOST PORT opens within the timeout, 1 otherwise.
// Used by the harness to poll ports from inside a namespace (nsenter/ip netns exec).
import { connect } from 'node:net';
const [host, port, timeoutMs = '2000'] = process.argv.slice(2);
const s = connect({ host, port: Number(port), timeout: Number(timeoutMs) });
s.once('connect', () => { s.destroy(); process.exit(0); });
s.once('timeout', () => { process.stderr.write(`timeout connecting to ${host}:${port}\n`); process.exit(1); });
s.once('error', (e) => { process.stderr.write(`${e.message}\n`); process.exit(1); });

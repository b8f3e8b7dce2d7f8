#!/usr/bin/env node
// A client calling a Service by name the whole time, as a user's app would:
// every PERIOD ms, resolve NAME (A) at DNS_SERVER, then GET http://<ip>:PORT/
// on a new connection (no keep-alive, so each request is balanced anew), and
// print one JSON line {t, ok, ms, ip?, err?} (err names the step: dns or http). Each step has a 1 s deadline.
// Stops after MAX_SECONDS (a bounded loop) or on SIGTERM.
import { Resolver } from 'node:dns/promises';
import { get } from 'node:http';

const [server, name, port, periodMs = '100', maxSeconds = '1800', expect = ''] = process.argv.slice(2);
if (!server || !name || !port) {
  process.stderr.write('usage: name-loop.mjs DNS_SERVER NAME PORT [PERIOD_MS] [MAX_SECONDS] [EXPECTED_BODY]\n');
  process.exit(2);
}
const resolver = new Resolver({ timeout: 1000, tries: 1 });
resolver.setServers([server]);
const period = Number(periodMs);
const deadline = Date.now() + Number(maxSeconds) * 1000;

function fetchOnce(ip) {
  return new Promise((resolve, reject) => {
    const req = get({ host: ip, port: Number(port), path: '/', agent: false, timeout: 1000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

let stop = false;
process.on('SIGTERM', () => (stop = true));
while (!stop && Date.now() < deadline) {
  const t = Date.now();
  let line;
  let step = 'dns';
  try {
    const [ip] = await resolver.resolve4(name);
    step = 'http';
    const body = await fetchOnce(ip);
    line = expect && body !== expect ? { t, ok: false, ms: Date.now() - t, ip, err: `unexpected body ${JSON.stringify(body.slice(0, 40))}` } : { t, ok: true, ms: Date.now() - t, ip };
  } catch (err) {
    line = { t, ok: false, ms: Date.now() - t, err: `${step} ${err.code ?? err.message}` };
  }
  process.stdout.write(JSON.stringify(line) + '\n');
  const wait = t + period - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

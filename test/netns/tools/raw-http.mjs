#!/usr/bin/env node
// Sends HTTP requests byte for byte as given (no client-side path normalisation,
// unlike fetch or curl without --path-as-is), one connection each, and prints one
// JSON line per request: {"status":400,"body":"..."} or {"error":"..."}.
// Usage: raw-http.mjs <spec.json>, spec = {host, port, tls?: {ca}, token?, requests: [{method, path, body?, contentType?}]}.
// Runs inside a namespace (nsenter) so it reaches the master's loopback port too.
import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const TIMEOUT_MS = 5000;

function decodeChunked(buf) {
  const out = [];
  let p = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', p);
    if (eol < 0) break;
    const size = parseInt(buf.subarray(p, eol).toString(), 16);
    if (!(size > 0)) break;
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    p = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

function send(req) {
  return new Promise((resolve) => {
    const body = req.body === undefined ? Buffer.alloc(0) : Buffer.from(req.body);
    const head = [`${req.method} ${req.path} HTTP/1.1`, `Host: ${spec.host}:${spec.port}`, 'Connection: close', `Content-Length: ${body.length}`];
    if (req.contentType) head.push(`Content-Type: ${req.contentType}`);
    if (spec.token) head.push(`Authorization: Bearer ${spec.token}`);
    const s = spec.tls
      ? tlsConnect({ host: spec.host, port: spec.port, ca: readFileSync(spec.tls.ca), servername: spec.host })
      : netConnect({ host: spec.host, port: spec.port });
    const chunks = [];
    let done = false;
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ error: `no complete answer within ${TIMEOUT_MS} ms`, partial: Buffer.concat(chunks).toString().slice(0, 300) }), TIMEOUT_MS);
    s.once(spec.tls ? 'secureConnect' : 'connect', () => s.write(Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), body])));
    s.on('data', (c) => chunks.push(c));
    s.on('error', (e) => finish({ error: e.message }));
    s.on('end', () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      if (split < 0) return finish({ error: 'no HTTP header in the answer', partial: all.toString().slice(0, 300) });
      const header = all.subarray(0, split).toString();
      let payload = all.subarray(split + 4);
      if (/^transfer-encoding:\s*chunked/im.test(header)) payload = decodeChunked(payload);
      finish({ status: Number(header.split(' ')[1]), body: payload.toString() });
    });
  });
}

for (const req of spec.requests) process.stdout.write(`${JSON.stringify(await send(req))}\n`);

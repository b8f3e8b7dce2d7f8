/**
 * Run by the Docker runtime inside a sandbox's network namespace
 * (`nsenter --net=/proc/<pause pid>/ns/net -- node port-forward-helper.js PORT`):
 * connects to localhost:PORT and relays stdin/stdout, half-closing each way,
 * as dockershim's `socat - TCP4:localhost:PORT` did. A refused connection is
 * one line on stderr and exit 1.
 */
import { connect } from 'node:net';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write(`invalid port ${JSON.stringify(process.argv[2])}\n`);
  process.exit(2);
}
const sock = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
sock.once('connect', () => {
  process.stdin.pipe(sock);
  sock.pipe(process.stdout);
});
sock.once('error', (err: NodeJS.ErrnoException) => {
  process.stderr.write(`${err.code === 'ECONNREFUSED' ? `nothing listens on localhost:${port}` : err.message}\n`);
  process.exit(1);
});

/**
 * The program the Docker runtime runs inside a sandbox's network namespace
 * (`nsenter --net=/proc/<pause pid>/ns/net -- node -e <this> PORT`): it
 * connects to localhost:PORT and relays stdin/stdout (the end of stdin half-closes the connection),
 * as dockershim's `socat - TCP4:localhost:PORT` did. A refused connection is
 * one line on stderr and exit 1. Passed as source (`node -e`), so it runs the
 * same from the built package and from sources under test.
 */
export const PORT_FORWARD_HELPER = `
const net = require('node:net');
const port = Number(process.argv[1]);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write('invalid port ' + JSON.stringify(process.argv[1]) + '\\n');
  process.exit(2);
}
// Not half-open: when the server closes, so does the relay (socat closes too), even if the client has not.
const sock = net.connect({ host: '127.0.0.1', port });
sock.once('connect', () => {
  process.stdin.pipe(sock);
  sock.pipe(process.stdout);
});
sock.once('error', (err) => {
  process.stderr.write((err.code === 'ECONNREFUSED' ? 'nothing listens on localhost:' + port : err.message) + '\\n');
  process.exit(1);
});
`;

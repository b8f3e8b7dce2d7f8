// The short-request backend: reads one line, answers "ok\n" and closes.
// Prints its port. Usage: node reply-server.mjs
import { createServer } from 'node:net';

const srv = createServer((s) => {
  s.setNoDelay(true);
  s.on('error', () => undefined);
  s.once('data', () => s.end('ok\n'));
});
srv.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: srv.address().port })));

'use strict';
// The seed's guest/mynode: a Node.js HTTP server on 8888 answering every request with Hello World.
const http = require('http');

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end('Hello World\n');
});
server.listen(8888, () => console.log('Server running at http://0.0.0.0:8888/'));

// As PID 1 node gets no default signal handlers: exit at once on SIGTERM (docker stop, pod deletion).
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    console.log(`${sig}: exiting`);
    process.exit(0);
  });
}

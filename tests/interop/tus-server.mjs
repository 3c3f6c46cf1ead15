// @tus/server 2.x with its FileStore on 127.0.0.1, for the side-by-side tus
// benchmark of the load generator (loadgen/src/tusnode.rs). Same protocol
// surface the Rust client uses: creation, creation-with-upload, PATCH.
//
//   node tus-server.mjs <upload dir> [port]
//
// Prints `listening on http://127.0.0.1:PORT` once it accepts connections.
import http from 'node:http';
import { Server } from '@tus/server';
import { FileStore } from '@tus/file-store';

const [directory, portArg] = process.argv.slice(2);
if (!directory) {
  console.error('usage: node tus-server.mjs <upload dir> [port]');
  process.exit(2);
}

const tus = new Server({
  path: '/files',
  datastore: new FileStore({ directory }),
  maxSize: 1024 * 1024 * 1024,
});

const server = http.createServer((req, res) => tus.handle(req, res));
server.listen(Number(portArg ?? 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}

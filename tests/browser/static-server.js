// A static server for the page in web/, as a deployment on another origin
// would serve it: the API's origin goes into the page's `todo-api` meta tag
// and into its Content-Security-Policy (connect-src). Loopback only.
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

const FILES = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
  '/favicon.svg': ['favicon.svg', 'image/svg+xml'],
};

const EMPTY_META = '<meta name="todo-api" content="">';

/**
 * Serves `webDir` on 127.0.0.1:`port` (0: any free port), pointing the page
 * at `apiUrl`. Resolves to `{origin, close}`, the origin spelt with
 * `localhost`.
 */
export async function serveStatic({ webDir, apiUrl, port = 0 }) {
  const api = new URL(apiUrl).origin;
  const files = new Map();
  for (const [route, [name, type]] of Object.entries(FILES)) {
    let body = await readFile(path.join(webDir, name), 'utf8');
    if (name === 'index.html') {
      if (!body.includes(EMPTY_META)) throw new Error(`${name} has no ${EMPTY_META}`);
      body = body.replace(EMPTY_META, `<meta name="todo-api" content="${api}">`);
    }
    files.set(route, { body, type });
  }
  const policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
    `connect-src ${api}; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`;

  const server = http.createServer((req, res) => {
    const file = files.get(new URL(req.url, 'http://localhost').pathname);
    if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found');
      return;
    }
    const headers = {
      'content-type': file.type,
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-cache',
      'referrer-policy': 'no-referrer',
    };
    if (file.type.startsWith('text/html')) headers['content-security-policy'] = policy;
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : file.body);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    origin: `http://localhost:${server.address().port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

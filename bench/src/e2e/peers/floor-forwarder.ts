/**
 * The floor of the plain-HTTP path (`node floor-forwarder.js PORT ALLOWED_HOST ORIGIN_PORT`): a bare node:http
 * server in front of undici `Pool.dispatch` with a plain handler object, the origin side cuttle uses
 * (../shared/perf-floor/undicid.mjs of issue 12, plus a 403 for any other host so the 20%-denied mix runs too).
 * No policy, access log, metrics, framing or header checks: what cuttle's own per-request work is measured against,
 * in the same run. Not a proxy to use: it forwards to 127.0.0.1:ORIGIN_PORT whatever the request says.
 */
import * as http from 'node:http';
import { type Dispatcher, Pool } from 'undici';

const [portText, allowed, originPortText] = process.argv.slice(2);
const port = Number(portText);
const originPort = Number(originPortText);
if (!Number.isInteger(port) || !Number.isInteger(originPort) || !allowed) {
  process.stderr.write('usage: floor-forwarder PORT ALLOWED_HOST ORIGIN_PORT\n');
  process.exit(2);
}
const pool = new Pool(`http://127.0.0.1:${originPort}`, { connections: 256 });
const DENIED = 'denied\n';

http
  .createServer((req, res) => {
    const u = new URL(req.url ?? '/');
    if (u.hostname !== allowed) {
      res.writeHead(403, ['Content-Type', 'text/plain', 'Content-Length', String(DENIED.length)]);
      res.end(DENIED);
      return;
    }
    const handler: Dispatcher.DispatchHandler = {
      onConnect() {},
      onHeaders(status, rawHeaders) {
        const h: string[] = [];
        for (let i = 0; i < rawHeaders.length; i += 2) {
          const n = (rawHeaders[i] as Buffer).toString('latin1');
          const lower = n.toLowerCase();
          if (lower === 'connection' || lower === 'keep-alive') continue;
          h.push(n, (rawHeaders[i + 1] as Buffer).toString('latin1'));
        }
        res.writeHead(status, h);
        return true;
      },
      onData(chunk) {
        return res.write(chunk);
      },
      onComplete() {
        res.end();
      },
      onError() {
        res.destroy();
      },
    };
    pool.dispatch({ path: u.pathname, method: 'GET', headers: ['host', u.host] }, handler);
  })
  .listen(port, '127.0.0.1', () => process.stderr.write(`floor listening on 127.0.0.1:${port}\n`));
process.on('SIGTERM', () => process.exit(0));

/** One request through a target, to check it answers as configured before it is measured. */
import { connect } from 'node:net';
import { responseEnd } from './open-loop.js';

/** Sends `request` to 127.0.0.1:port and resolves with the status code and body length of the answer. */
export function probe(
  port: number,
  request: string,
  timeoutMs = 5_000,
): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const settle = () => {
      const end = responseEnd(buf, 0);
      if (end === -1) return false;
      clearTimeout(timer);
      s.destroy();
      const headEnd = buf.indexOf('\r\n\r\n');
      resolve({ status: Number(buf.toString('latin1', 9, 12)), bytes: end - headEnd - 4 });
      return true;
    };
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      settle();
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.once('end', () => {
      if (!settle()) {
        clearTimeout(timer);
        reject(new Error(`connection closed after ${buf.length} bytes: ${buf.toString('latin1', 0, 80)}`));
      }
    });
    s.write(request);
  });
}

/** An absolute-form GET as the load generators send it. */
export function absoluteGet(host: string, port: number, path: string): string {
  return `GET http://${host}:${port}${path} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`;
}

/**
 * LXD's events API (`GET /1.0/events?type=lifecycle`, a WebSocket over the unix socket), read with a minimal
 * client: the upgrade handshake, then server frames (unmasked) parsed for text messages; pings are answered, a
 * close frame ends it. Each complete text message is handed over as parsed JSON. No dependency: this is the only
 * WebSocket the project needs, and only its receiving half.
 */
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { Socket } from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface EventStream {
  /** Resolves when the stream ends (closed by LXD, a socket error, or `close`). */
  readonly ended: Promise<void>;
  close(): void;
}

/** A masked client frame (RFC 6455 5.3: every client frame is masked). Only small control frames are sent. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const head = Buffer.from([0x80 | opcode, 0x80 | payload.length]);
  const body = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] as number)));
  return Buffer.concat([head, mask, body]);
}

/** Connects to LXD's lifecycle events; `onMessage` gets each message. Rejects if the upgrade fails. */
export function openLifecycleEvents(
  socketPath: string,
  onMessage: (message: unknown) => void,
): Promise<EventStream> {
  const key = randomBytes(16).toString('base64');
  return new Promise((resolve, reject) => {
    const req = request({
      socketPath,
      path: '/1.0/events?type=lifecycle',
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': key,
      },
    });
    req.on('response', (res) => {
      res.resume();
      reject(new Error(`LXD events: HTTP ${res.statusCode} instead of a WebSocket upgrade`));
    });
    req.on('error', reject);
    req.on('upgrade', (res, socket: Socket, head: Buffer) => {
      const accept = createHash('sha1').update(`${key}${GUID}`).digest('base64');
      if (res.headers['sec-websocket-accept'] !== accept) {
        socket.destroy();
        reject(new Error('LXD events: bad Sec-WebSocket-Accept'));
        return;
      }
      let buf = head;
      let fragments: Buffer[] = [];
      let finish: () => void = () => {};
      const ended = new Promise<void>((r) => {
        finish = r;
      });
      const parse = (): void => {
        for (;;) {
          if (buf.length < 2) return;
          const b0 = buf[0] as number;
          const b1 = buf[1] as number;
          let len = b1 & 0x7f;
          let off = 2;
          if (len === 126) {
            if (buf.length < 4) return;
            len = buf.readUInt16BE(2);
            off = 4;
          } else if (len === 127) {
            if (buf.length < 10) return;
            len = Number(buf.readBigUInt64BE(2));
            off = 10;
          }
          const masked = (b1 & 0x80) !== 0;
          const maskAt = off;
          if (masked) off += 4;
          if (buf.length < off + len) return;
          let payload = buf.subarray(off, off + len);
          if (masked) {
            const m = buf.subarray(maskAt, maskAt + 4);
            payload = Buffer.from(payload.map((x, i) => x ^ (m[i % 4] as number)));
          }
          buf = buf.subarray(off + len);
          const opcode = b0 & 0x0f;
          if (opcode === 0x8) {
            socket.end(clientFrame(0x8, Buffer.alloc(0)));
            return;
          }
          if (opcode === 0x9) {
            socket.write(clientFrame(0xa, payload.subarray(0, 125)));
            continue;
          }
          if (opcode === 0x1 || opcode === 0x2 || opcode === 0x0) {
            fragments.push(Buffer.from(payload));
            if ((b0 & 0x80) !== 0) {
              const text = Buffer.concat(fragments).toString('utf8');
              fragments = [];
              try {
                onMessage(JSON.parse(text));
              } catch {
                // Not JSON: not an event.
              }
            }
          }
        }
      };
      socket.on('data', (d: Buffer) => {
        buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
        parse();
      });
      socket.on('error', () => {});
      socket.on('close', () => finish());
      parse();
      resolve({ ended, close: () => socket.destroy() });
    });
    req.end();
  });
}

/**
 * Passes over the interim `100 Continue` heads an origin sends before its final answer (RFC 9110 15.2: a client
 * must parse and may ignore an unexpected 1xx; cuttle never sends `Expect` upstream, so every 100 is one).
 *
 * Why a filter on the socket: undici 7's HTTP/1 parser destroys the connection on any 100 with 'bad response'
 * (lib/dispatcher/client-h1.js, onHeadersComplete), whatever the request said: there is no option for it
 * (`expectContinue` is HTTP/2 only) and a request carrying `Expect` is refused before it is sent, so no way of
 * sending gets a 100 past it. A stream between the socket and undici would cost a stream hop per chunk of every
 * response; instead the socket cuttle owns gets its `push` wrapped (the Readable method Node's socket handle calls
 * for every read, TCP and TLS alike; undici reads what it pushed). One boolean check per chunk while disarmed.
 *
 *   arm() before a request is sent: the next byte starts a response head
 *   armed, head is a well-formed `HTTP/1.x 100` head   --> dropped, still armed (another 1xx may follow)
 *   armed, head is a 102 or 103                         --> passed on, still armed
 *   armed, the 100/102/103 heads of this response pass `maxHeadBytes` together
 *                                                       --> the socket destroyed: 502 bad_response, never pooled
 *   armed, anything else (a final status, 101, 199, garbage, a malformed or oversized 100)
 *                                                       --> disarmed, passed on: llhttp and the handler judge it
 *   armed, too few bytes to tell                        --> held until the next read (or the end)
 *
 * Only bytes that form a whole, well-formed 100 head are ever removed; everything else reaches llhttp as sent.
 *
 * Why a bound on the interim heads together: each one alone is within the head limit, and nothing else ends a run
 * of them. A dropped 100 does not restart undici's response timer, but a 102 or 103 does (client-h1.js,
 * onHeadersComplete), so an origin sending a 102 every few seconds held the client forever (seen before this bound:
 * no answer, whatever `timeouts.upstream_response_ms`), and a flood of 100s cost parsing until that timer fired.
 * Go's net/http (1.24) counts all the 1xx heads of a response against `MaxResponseHeaderBytes` the same way; Squid
 * and undici set no bound of their own (Squid's read timeout, like undici's timer, restarts with every read).
 */
import type { Socket } from 'node:net';
import { ProxyError } from '../core/errors.js';

/** A 100 head (status line, header fields, blank line), every byte as RFC 9112 allows it; `latin1` text. */
const CONTINUE_HEAD =
  /^HTTP\/1\.[01] 100(?: [\t\x20-\x7e\x80-\xff]*)?\r\n(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*\r\n)*\r\n$/;

/** A byte no head may hold (a control character, a CR not before LF, an LF not after CR): the head is malformed. */
const NOT_IN_HEAD = /[^\t\r\n\x20-\x7e\x80-\xff]|\r(?!\n|$)|(?<!\r)\n/;

const END_OF_HEAD = Buffer.from('\r\n\r\n', 'latin1');
const HTTP_1 = Buffer.from('HTTP/1.', 'latin1');

type Push = (chunk: unknown, encoding?: BufferEncoding) => boolean;

/**
 * How the bytes at `pos` begin: the status code of an `HTTP/1.x 1xx` status line, -1 for anything else (a final
 * status or not HTTP: left to llhttp), 0 when too few bytes have come to tell.
 */
function interimStatus(data: Buffer, pos: number): number {
  // The usual case first: a final status (its first digit is not 1).
  if (data.length - pos > 9 && data[pos + 9] !== 0x31) return -1;
  const n = Math.min(data.length - pos, 12);
  for (let i = 0; i < n; i++) {
    const b = data[pos + i] as number;
    const ok =
      i < 7
        ? b === HTTP_1[i]
        : i === 7
          ? b === 0x30 || b === 0x31
          : i === 8
            ? b === 0x20
            : i === 9
              ? b === 0x31
              : b >= 0x30 && b <= 0x39;
    if (!ok) return -1;
  }
  if (n < 12) return 0;
  return 100 + ((data[pos + 10] as number) - 0x30) * 10 + ((data[pos + 11] as number) - 0x30);
}

/** The filter of one origin connection (installed once, armed per request). */
export class ContinueFilter {
  readonly #socket: Socket;
  readonly #push: Push;
  /**
   * Longest head held back: beyond it the bytes go on (llhttp's own limit then refuses them). Also the most bytes
   * the interim heads of one response may take together.
   */
  readonly #maxHeadBytes: number;
  #armed = false;
  #held: Buffer | null = null;
  /** Bytes of the 100/102/103 heads seen since arm(). */
  #interimBytes = 0;

  constructor(socket: Socket, maxHeadBytes: number) {
    this.#socket = socket;
    this.#maxHeadBytes = maxHeadBytes;
    const push = socket.push as Push;
    this.#push = push;
    socket.push = ((chunk: unknown, encoding?: BufferEncoding): boolean =>
      this.#armed ? this.#filter(chunk, encoding) : push.call(socket, chunk, encoding)) as Socket['push'];
  }

  /** A request is about to be sent: the next byte from the origin starts its response. */
  arm(): void {
    this.#armed = true;
    this.#held = null;
    this.#interimBytes = 0;
  }

  #pass(chunk: unknown, encoding?: BufferEncoding): boolean {
    return this.#push.call(this.#socket, chunk, encoding);
  }

  #filter(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (!Buffer.isBuffer(chunk)) {
      // The end (null), or something that is not bytes: what was held goes first, then it, unfiltered.
      this.#armed = false;
      const held = this.#held;
      this.#held = null;
      if (held !== null) this.#pass(held);
      return this.#pass(chunk, encoding);
    }
    const data = this.#held === null ? chunk : Buffer.concat([this.#held, chunk]);
    this.#held = null;
    let ret = true;
    // data[start, pos) is passed on; data[pos, ...) is the head being looked at.
    let start = 0;
    let pos = 0;
    while (pos < data.length) {
      const status = interimStatus(data, pos);
      if (status === -1) {
        this.#armed = false;
        break;
      }
      const end = status === 0 ? -1 : data.indexOf(END_OF_HEAD, pos);
      if (end === -1) {
        const partial = data.length - pos;
        if (partial <= this.#maxHeadBytes && !NOT_IN_HEAD.test(data.toString('latin1', pos))) {
          this.#held = data.subarray(pos);
          return start < pos ? this.#pass(data.subarray(start, pos)) : ret;
        }
        this.#armed = false;
        break;
      }
      const next = end + END_OF_HEAD.length;
      if (status === 100 || status === 102 || status === 103) {
        this.#interimBytes += next - pos;
        if (this.#interimBytes > this.#maxHeadBytes) {
          // Nothing of it goes on: the request ends here with 502 (undici reports the socket's error).
          this.#armed = false;
          this.#socket.destroy(
            new ProxyError('bad_response', `interim (1xx) heads over ${this.#maxHeadBytes} bytes`),
          );
          return false;
        }
      }
      if (
        status === 100 &&
        next - pos <= this.#maxHeadBytes &&
        CONTINUE_HEAD.test(data.toString('latin1', pos, next))
      ) {
        if (start < pos) ret = this.#pass(data.subarray(start, pos));
        start = next;
      } else if (status !== 102 && status !== 103) {
        this.#armed = false;
        break;
      }
      pos = next;
    }
    if (start === 0) return this.#pass(data);
    return start < data.length ? this.#pass(data.subarray(start)) : ret;
  }
}

/**
 * The access log's destination: stdout, stderr or an appended file, written asynchronously from reused buffers.
 *
 *   write(line) --UTF-8 into the current buffer--> BATCH_BYTES full, or FLUSH_TICK_MS after its first line
 *     --> sealed, queued in order --> fs.write on the thread pool, one at a time (partial writes continued,
 *         EAGAIN retried) --> the buffer is reused
 *   reopen (SIGUSR1): a marker in the same queue: what was queued before it goes to the file as it was, then the
 *     path is opened again and everything after it goes to the new file
 *
 * A busy proxy pays one write per batch (~350 JSON lines), not a thread-pool write and a futex wake-up per line
 * (issue 12: 14% of busy CPU at 1 KiB GETs before batching). Nothing queued is lost on drain, reload or SIGUSR1
 * (each waits for the queue) or on a normal exit (what is still queued is written synchronously in the 'exit'
 * hook); a crash that kills the process outright loses at most what is queued: under BATCH_BYTES of lines,
 * FLUSH_TICK_MS worth (docs/operations.md).
 *
 * Why not pino's sonic-boom any more (it wrote these lines until 2026-12-02): it takes strings, so every batch was
 * counted (Buffer.byteLength), appended to its own string and encoded again by fs.write on the main thread; here
 * each line is encoded once, into a buffer that is written as it is and then reused. Measured (issue 12, the same
 * JSON lines handed over 50 per event-loop turn, pinned to one CPU, Node 20, warm rounds): the main thread's part
 * 300-340 -> 180-230 ns per line, the whole process's CPU (thread pool included) 710-790 -> 570-610 ns per line.
 */
import { closeSync, close as fsClose, open as fsOpen, write as fsWrite, openSync, writeSync } from 'node:fs';
import { fsCause } from '../core/fs-cause.js';

/**
 * A batch is written once this many bytes are queued (about 350 JSON lines of a plain GET) ...
 *
 * 128 KiB rather than 32 (issue 12, 2026-12-02): every batch costs a hand-over to the thread pool and back (a futex
 * wake-up each way, the worker's switch onto the proxy's CPU, the completion's eventfd). Measured whole-process CPU
 * per line, pinned to one CPU, Node 20, 400k JSON lines handed over 50 per event-loop turn, 5 alternating rounds:
 * 32 KiB 1,259 ns (median), 128 KiB 1,015 ns; futex calls 23.6k -> 6.1k, writes 9.8k -> 2.5k (`strace -c -f`).
 * Writing each batch on the main thread with writeSync read 1,083 ns: no better, and it would block the event loop
 * on a slow disk. The time bound (FLUSH_TICK_MS) is unchanged, so a crash loses no more than 50 ms of lines.
 */
export const BATCH_BYTES = 128 * 1024;
/** ... or this long after the first line of a batch. */
export const FLUSH_TICK_MS = 50;
/** A buffer holds a batch and the line that completes it (a longer line gets a buffer of its own). */
const BUFFER_BYTES = 2 * BATCH_BYTES;
/** Wait before writing again to a stdout/stderr pipe that is full (EAGAIN), as sonic-boom did. */
const BUSY_RETRY_MS = 100;
/** At exit, how often a full pipe is waited for (BUSY_RETRY_MS each) before the rest is given up. */
const EXIT_RETRIES = 50;
/** A write that failed (a full disk, EIO) is tried again this much later, the batch kept ... */
const FAILED_RETRY_MS = 1000;
/** ... while what waits in the queue stays under this; past it the oldest batch is given up (and counted). */
const MAX_BACKLOG_BYTES = 64 * 1024 * 1024;

/** An opened access-log destination. */
export interface LogDestination {
  /** Queues one line (or several, newline-terminated). */
  write(text: string): void;
  /**
   * The buffer in which the next `bytes` bytes can be written from `end` on, without a string (json-line.ts), or
   * null when that is more than a buffer holds (write the line as a string then). `commit` queues what was written.
   */
  reserve(bytes: number): Buffer | null;
  /** Where the next line starts in the buffer `reserve` returned. */
  readonly end: number;
  /** The bytes up to `end` are lines, queued as if written. */
  commit(end: number): void;
  /** The file path, or null for stdout/stderr. */
  readonly path: string | null;
  /** Opens the file again at its path (after a rename by logrotate); a no-op for stdout/stderr. */
  reopen(): void;
  /** Resolves once everything queued so far was written (or failed: reported through onError). */
  flush(): Promise<void>;
  /** Flushes and closes (stdout/stderr are flushed, not closed). */
  close(): Promise<void>;
}

/** One sealed batch: `buf[off..len)` still to be written. */
interface Batch {
  readonly buf: Buffer;
  off: number;
  readonly len: number;
}

/** In the queue, after the batches that belong to the file as it was. */
const REOPEN = 'reopen';
type Item = Batch | typeof REOPEN;

function openFd(path: string): Promise<number> {
  return new Promise((resolve, reject) => fsOpen(path, 'a', (err, fd) => (err ? reject(err) : resolve(fd))));
}

/** The lines in what is left of a batch. */
function linesIn(batch: Batch): number {
  let n = 0;
  for (let i = batch.buf.indexOf(10, batch.off); i !== -1 && i < batch.len; i = batch.buf.indexOf(10, i + 1))
    n++;
  return n;
}

/** Blocks for `ms` (the exit hook only: nothing else may run then). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Opens `file` (`stdout`, `stderr` or a path, appended). Rejects, naming the real cause, if it cannot be opened. */
export async function openLogDestination(
  file: string,
  onError: (err: Error) => void,
): Promise<LogDestination> {
  const path = file === 'stdout' || file === 'stderr' ? null : file;
  let fd: number;
  if (path === null) fd = file === 'stdout' ? 1 : 2;
  else {
    try {
      fd = await openFd(path);
    } catch (err) {
      throw new Error(fsCause(err, path), { cause: err });
    }
  }
  return new BufferedDestination(fd, path, onError);
}

/** The queue of sealed batches and its one writer. */
class BufferedDestination implements LogDestination {
  readonly path: string | null;
  #fd: number;
  readonly #onError: (err: Error) => void;
  #buf: Buffer = Buffer.allocUnsafeSlow(BUFFER_BYTES);
  #len = 0;
  /** A written buffer kept for the next batch. */
  #spare: Buffer | null = null;
  readonly #queue: Item[] = [];
  /** A write (or a reopen) of `#queue[0]` is under way, or waits for a full pipe or a failed write's retry. */
  #busy = false;
  /** `#busy` only waits for a timer (no write of `#queue[0]` is on the thread pool). */
  #waiting = false;
  /** Items sealed so far and items done (written, failed or reopened): a flush waits for its count. */
  #sealed = 0;
  #done = 0;
  #waiters: { readonly until: number; readonly resolve: () => void }[] = [];
  /** Bytes of the sealed batches not yet written (the backlog a failing disk builds up). */
  #queuedBytes = 0;
  /** The batch timer runs: armed by the first line after a seal, so an idle proxy runs no timer. */
  #armed = false;
  #closed = false;
  readonly #tick = (): void => {
    this.#armed = false;
    this.#seal();
    this.#kick();
  };
  readonly #onWritten = (err: NodeJS.ErrnoException | null, n: number): void => this.#written(err, n);
  readonly #atExit = (): void => this.#writeRestSync();

  constructor(fd: number, path: string | null, onError: (err: Error) => void) {
    this.#fd = fd;
    this.path = path;
    this.#onError = onError;
    process.on('exit', this.#atExit);
  }

  write(text: string): void {
    // A UTF-16 code unit is at most 3 bytes of UTF-8 (a pair, 2 units, is 4): `3 * length` always fits.
    const buf = this.reserve(3 * text.length);
    if (buf === null) {
      this.#push({ buf: Buffer.from(text), off: 0, len: Buffer.byteLength(text) });
      this.#kick();
      return;
    }
    this.commit(this.#len + buf.write(text, this.#len));
  }

  reserve(bytes: number): Buffer | null {
    if (this.#len + bytes <= this.#buf.length) return this.#buf;
    this.#seal();
    return bytes <= this.#buf.length ? this.#buf : null;
  }

  get end(): number {
    return this.#len;
  }

  commit(end: number): void {
    this.#len = end;
    if (this.#len >= BATCH_BYTES) {
      this.#seal();
      this.#kick();
    } else if (!this.#armed) {
      this.#armed = true;
      setTimeout(this.#tick, FLUSH_TICK_MS).unref();
    }
  }

  reopen(): void {
    if (this.path === null || this.#closed) return;
    // What is queued belongs to the file as it was; what comes after the signal goes to the new file.
    this.#seal();
    this.#push(REOPEN);
    this.#kick();
  }

  flush(): Promise<void> {
    this.#seal();
    this.#kick();
    return this.#settled();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.flush();
    process.off('exit', this.#atExit);
    if (this.path !== null) await new Promise<void>((resolve) => fsClose(this.#fd, () => resolve()));
  }

  /** Resolves once every item sealed so far is done. */
  #settled(): Promise<void> {
    if (this.#done === this.#sealed) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ until: this.#sealed, resolve }));
  }

  /** The current buffer's lines become a batch in the queue; the next lines go to another buffer. */
  #seal(): void {
    if (this.#len === 0) return;
    this.#push({ buf: this.#buf, off: 0, len: this.#len });
    this.#buf = this.#spare ?? Buffer.allocUnsafeSlow(BUFFER_BYTES);
    this.#spare = null;
    this.#len = 0;
  }

  #push(item: Item): void {
    this.#queue.push(item);
    if (item !== REOPEN) this.#queuedBytes += item.len;
    this.#sealed++;
  }

  /** Starts on the queue's first item unless one is under way. */
  #kick(): void {
    if (this.#busy) return;
    const item = this.#queue[0];
    if (item === undefined) return;
    this.#busy = true;
    if (item === REOPEN) this.#reopenNow();
    else fsWrite(this.#fd, item.buf, item.off, item.len - item.off, null, this.#onWritten);
  }

  #written(err: NodeJS.ErrnoException | null, n: number): void {
    const batch = this.#queue[0] as Batch;
    if (err) {
      if (err.code === 'EAGAIN' || err.code === 'EBUSY') {
        // A full stdout/stderr pipe: the same bytes again, a little later.
        this.#retryIn(BUSY_RETRY_MS);
        return;
      }
      // Reported (once per distinct message, by the sink); the batch is kept and tried again a little later (the
      // disk may get room), unless the destination is closing (a stop must not wait for a disk that stays full)
      // or the backlog is over its bound: then it is given up, and how many lines that were is said.
      this.#onError(err);
      if (!this.#closed && this.#queuedBytes <= MAX_BACKLOG_BYTES) {
        this.#retryIn(FAILED_RETRY_MS);
        return;
      }
      this.#onError(new Error(`${linesIn(batch)} line(s) not written (${err.message})`, { cause: err }));
    } else {
      batch.off += n;
      if (batch.off < batch.len) {
        fsWrite(this.#fd, batch.buf, batch.off, batch.len - batch.off, null, this.#onWritten);
        return;
      }
    }
    if (batch.buf.length === BUFFER_BYTES) this.#spare = batch.buf;
    this.#next();
  }

  /**
   * The same bytes again in `ms`. Not unref'd: a close waiting for these lines must keep the process alive until
   * they are written (or, closing, given up).
   */
  #retryIn(ms: number): void {
    this.#waiting = true;
    setTimeout(() => {
      this.#waiting = false;
      this.#busy = false;
      this.#kick();
    }, ms);
  }

  /** The queue's first item is done: the next one, and any flush that waited for it. */
  #next(): void {
    const item = this.#queue.shift();
    if (item !== undefined && item !== REOPEN) this.#queuedBytes -= item.len;
    this.#done++;
    this.#busy = false;
    if (this.#waiters.length > 0) {
      const ready = this.#waiters.filter((w) => w.until <= this.#done);
      if (ready.length > 0) {
        this.#waiters = this.#waiters.filter((w) => w.until > this.#done);
        for (const w of ready) w.resolve();
      }
    }
    this.#kick();
  }

  /** Opens the path again; on failure the lines go on to the file as it was (and the failure is reported). */
  #reopenNow(): void {
    fsOpen(this.path as string, 'a', (err, fd) => {
      if (err) this.#onError(new Error(fsCause(err, this.path as string), { cause: err }));
      else {
        fsClose(this.#fd, () => {});
        this.#fd = fd;
      }
      this.#next();
    });
  }

  /**
   * The 'exit' hook (an uncaught error, process.exit): everything queued is written synchronously. A write already
   * on the thread pool is left to finish there; the rest follows it.
   */
  #writeRestSync(): void {
    this.#seal();
    for (let i = this.#busy && !this.#waiting ? 1 : 0; i < this.#queue.length; i++) {
      const item = this.#queue[i] as Item;
      try {
        if (item === REOPEN) {
          const fd = openSync(this.path as string, 'a');
          closeSync(this.#fd);
          this.#fd = fd;
          continue;
        }
        let busy = 0;
        while (item.off < item.len) {
          try {
            item.off += writeSync(this.#fd, item.buf, item.off, item.len - item.off);
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if ((code !== 'EAGAIN' && code !== 'EBUSY') || ++busy > EXIT_RETRIES) throw err;
            sleepSync(BUSY_RETRY_MS);
          }
        }
      } catch (err) {
        this.#onError(err as Error);
      }
    }
  }
}

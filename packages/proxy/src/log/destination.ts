/**
 * The access log's destination: pino's asynchronous sonic-boom writer on stdout, stderr or an appended file. Lines
 * are batched: one write once BATCH_BYTES are queued, or FLUSH_TICK_MS after the first line of a batch, whichever
 * comes first (one timer per batch, never one per line), so a busy proxy does not pay a thread-pool write and a
 * futex wake-up per line (issue 12: 14% of busy CPU at 1 KiB GETs before). Nothing queued is lost on drain, reload
 * or SIGUSR1 (each flushes first) or on a normal exit (pino's exit hook writes the rest synchronously); a crash
 * that kills the process outright loses at most what is queued: under BATCH_BYTES of lines, FLUSH_TICK_MS worth
 * (docs/operations.md). `reopen` (SIGUSR1, logrotate) opens the path again; `flush` is for drain and exit.
 */
import { open } from 'node:fs/promises';
import { pino } from 'pino';
import { fsCause } from '../core/fs-cause.js';

type SonicBoom = ReturnType<typeof pino.destination>;

/** A write is issued once this much is queued (sonic-boom `minLength`). */
export const BATCH_BYTES = 32 * 1024;
/** ... or this long after the first line of a batch. */
export const FLUSH_TICK_MS = 50;

/** An opened access-log destination. */
export interface LogDestination {
  /** Queues one line (or several, newline-terminated). */
  write(text: string): void;
  /** The file path, or null for stdout/stderr. */
  readonly path: string | null;
  /** Opens the file again at its path (after a rename by logrotate); a no-op for stdout/stderr. */
  reopen(): void;
  /** Resolves once everything queued so far was written. */
  flush(): Promise<void>;
  /** Flushes and closes (stdout/stderr are flushed, not closed). */
  close(): Promise<void>;
}

/** Opens `file` (`stdout`, `stderr` or a path, appended). Rejects, naming the real cause, if it cannot be opened. */
export async function openLogDestination(
  file: string,
  onError: (err: Error) => void,
): Promise<LogDestination> {
  const path = file === 'stdout' || file === 'stderr' ? null : file;
  // Tried first with a plain open: a destination that never opened would stay registered in pino's exit hook,
  // whose flushSync then throws "sonic boom is not ready yet" at exit, however clean.
  if (path !== null) {
    try {
      await (await open(path, 'a')).close();
    } catch (err) {
      throw new Error(fsCause(err, path), { cause: err });
    }
  }
  const stream: SonicBoom = pino.destination({
    dest: path ?? (file === 'stdout' ? 1 : 2),
    sync: false,
    minLength: BATCH_BYTES,
    maxWrite: 4 * BATCH_BYTES,
    append: true,
  });
  if (path !== null) {
    await new Promise<void>((resolve, reject) => {
      stream.once('ready', () => {
        stream.off('error', onOpenError);
        resolve();
      });
      const onOpenError = (err: Error): void => {
        // The file went away between the two opens: 'close' takes the stream out of pino's exit hook.
        stream.emit('close');
        reject(new Error(fsCause(err, path), { cause: err }));
      };
      stream.once('error', onOpenError);
    });
  }
  stream.on('error', onError);
  let closed = false;
  // Lines are joined here and handed to sonic-boom a batch at a time: sonic-boom counts the bytes of every string
  // it is given (Buffer.byteLength, which also flattens a concatenated line), 5% of busy CPU when given one line at
  // a time (issue 12's profile). The length here is in characters: a batch is handed on at BATCH_BYTES characters
  // (at least that many bytes).
  let pending = '';
  // Between SIGUSR1 and the reopen, lines recorded after the signal wait here: handed on then, they would be
  // written to the renamed file along with the ones queued before it.
  let reopening = false;
  const handNow = (): void => {
    if (pending === '') return;
    const text = pending;
    pending = '';
    stream.write(text);
  };
  const hand = (): void => {
    if (!reopening) handNow();
  };
  const flush = (): Promise<void> =>
    new Promise((resolve) => {
      if (closed) return resolve();
      hand();
      try {
        stream.flush((err) => {
          if (err) onError(err);
          resolve();
        });
      } catch (err) {
        onError(err as Error);
        resolve();
      }
    });
  // The batch timer: armed by the first line after a flush, so an idle proxy runs no timer at all.
  let armed = false;
  const arm = (): void => {
    if (armed) return;
    armed = true;
    setTimeout(tick, FLUSH_TICK_MS).unref();
  };
  // The reopen under way, if any: a close waits for it, so the lines held for the new file are written there.
  let reopened: Promise<void> | null = null;
  const tick = (): void => {
    armed = false;
    if (closed) return;
    hand();
    try {
      stream.flush();
    } catch (err) {
      onError(err as Error);
    }
  };
  // At exit, before pino's hook writes sonic-boom's buffer synchronously (prepended: it runs first).
  process.prependListener('exit', handNow);
  return {
    write(text) {
      pending += text;
      if (pending.length >= BATCH_BYTES) hand();
      arm();
    },
    path,
    reopen() {
      // What is queued belongs to the file as it was: written out before the path is opened again; what comes
      // after the signal is held until then and goes to the new file.
      if (path === null || closed || reopening) return;
      reopened = flush().then(
        () =>
          new Promise<void>((resolve) => {
            // Once the path is open again (or failed to open): the held lines go on, a tick writes them out.
            const done = (): void => {
              stream.off('ready', done);
              stream.off('error', done);
              reopening = false;
              handNow();
              arm();
              resolve();
            };
            if (closed) return done();
            stream.once('ready', done);
            stream.once('error', done);
            try {
              stream.reopen();
            } catch (err) {
              onError(err as Error);
              done();
            }
          }),
      );
      reopening = true;
    },
    flush,
    async close() {
      if (closed) return;
      if (reopened !== null) await reopened;
      if (closed) return;
      process.off('exit', handNow);
      if (path === null) {
        await flush();
        closed = true;
        return;
      }
      handNow();
      closed = true;
      await new Promise<void>((resolve) => {
        stream.once('close', () => resolve());
        stream.once('error', () => resolve());
        stream.end();
      });
    },
  };
}

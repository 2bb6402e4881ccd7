/**
 * The access log's destination: pino's asynchronous sonic-boom writer on stdout, stderr or an appended file. Writes
 * are queued in memory and handed to the kernel while the traffic paths carry on; under load queued lines go out
 * together. `reopen` (SIGUSR1, logrotate) opens the path again; `flush` is for drain and exit.
 */
import { open } from 'node:fs/promises';
import { pino } from 'pino';
import { fsCause } from '../core/fs-cause.js';

type SonicBoom = ReturnType<typeof pino.destination>;

/** An opened access-log destination. */
export interface LogDestination {
  readonly stream: SonicBoom;
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
    // 0: write as soon as the previous write completed, so lines appear promptly and batch under load.
    minLength: 0,
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
  const flush = (): Promise<void> =>
    new Promise((resolve) => {
      if (closed) return resolve();
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
  return {
    stream,
    path,
    reopen() {
      if (path !== null && !closed) stream.reopen();
    },
    flush,
    async close() {
      if (closed) return;
      if (path === null) {
        await flush();
        closed = true;
        return;
      }
      closed = true;
      await new Promise<void>((resolve) => {
        stream.once('close', () => resolve());
        stream.once('error', () => resolve());
        stream.end();
      });
    },
  };
}

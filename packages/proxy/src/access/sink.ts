/**
 * The default access-record sink: one JSON line per finished request or tunnel, written asynchronously to
 * `log.file` (`stdout`, `stderr` or a path). The operations module replaces it with the pino/squid writer and the
 * metrics; the contract is `ProxyContext.record`.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Config } from '@cuttle/shared';
import type { AccessRecord } from '../context.js';

/** Where access records go. `close` flushes and releases the destination. */
export interface AccessSink {
  record(entry: AccessRecord): void;
  close(): Promise<void>;
}

/** A JSON-lines sink for `config.log`. */
export function createJsonLineSink(log: Config['log']): AccessSink {
  let stream: NodeJS.WritableStream;
  let owned: WriteStream | null = null;
  if (log.file === 'stdout') stream = process.stdout;
  else if (log.file === 'stderr') stream = process.stderr;
  else {
    owned = createWriteStream(log.file, { flags: 'a' });
    owned.on('error', (err) => process.stderr.write(`cuttle: access log ${log.file}: ${err.message}\n`));
    stream = owned;
  }
  return {
    record(entry) {
      stream.write(`${JSON.stringify(entry)}\n`);
    },
    close() {
      const s = owned;
      if (s === null) return Promise.resolve();
      return new Promise((resolve) => s.end(resolve));
    },
  };
}

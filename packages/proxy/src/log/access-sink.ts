/**
 * The access sink: `ProxyContext.record` lands here once per finished request or tunnel.
 *
 *   AccessRecord --> metrics.observeRecord --> json | squid line --> batched async destination
 *
 * The line formatter is built once; a record costs one serialisation and a queued write (batched: destination.ts).
 */
import { appendFileSync } from 'node:fs';
import type { Config } from '@cuttle/shared';
import type { AccessRecord } from '../core/context.js';
import type { ProxyMetrics } from '../metrics/index.js';
import { formatJsonLine, formatSquidLine } from './access-line.js';
import { type LogDestination, openLogDestination } from './destination.js';
import { encodeJsonLine, jsonLineBound } from './json-line.js';

/** Where access records go. */
export interface AccessSink {
  /** Writes one line and updates the metrics; never blocks on the disk. */
  record(entry: AccessRecord): void;
  /** Reopens the log file at its path (SIGUSR1 after logrotate's rename). */
  reopen(): void;
  /** Resolves once every line recorded so far is written. */
  flush(): Promise<void>;
  /** Flushes and releases the destination. */
  close(): Promise<void>;
  /** The `log` settings this sink was opened with (a reload opens a new sink when they change). */
  readonly settings: Config['log'];
}

export interface AccessSinkOptions {
  /** The config chains through a parent (`upstream`): squid lines say FIRSTUP_PARENT. */
  readonly viaParent?: boolean;
  /** The proxy's own messages (stderr): write errors are reported there, once per distinct message. */
  readonly say?: (line: string) => void;
}

/** Opens `log.file` and returns the sink. Rejects if the file cannot be opened. */
export async function createAccessSink(
  log: Config['log'],
  metrics: ProxyMetrics | null,
  options: AccessSinkOptions = {},
): Promise<AccessSink> {
  const say = options.say ?? ((line: string) => process.stderr.write(`cuttle: ${line}\n`));
  let lastError = '';
  const dest: LogDestination = await openLogDestination(log.file, (err) => {
    if (err.message === lastError) return;
    lastError = err.message;
    say(`access log ${log.file}: ${err.message}`);
  });
  const viaParent = options.viaParent === true;
  let write: (entry: AccessRecord) => void;
  if (log.format === 'squid') {
    write = (entry) => {
      dest.write(`${formatSquidLine(entry, viaParent)}\n`);
    };
  } else {
    // The line is the record's start time (not the time of writing) and its fields, as pino wrote it before with
    // `base: null` and no level (json-line.ts writes the same text without JSON.stringify), and the ISO time
    // formatted once per millisecond.
    let lastTime = Number.NaN;
    let lastIso = '';
    write = (entry) => {
      if (entry.time !== lastTime) {
        lastTime = entry.time;
        lastIso = new Date(entry.time).toISOString();
      }
      // Written as bytes into the destination's buffer (json-line.ts); a line too long for one goes as a string.
      const buf = dest.reserve(jsonLineBound(entry, lastIso));
      if (buf === null) dest.write(`${formatJsonLine(entry, lastIso)}\n`);
      else dest.commit(encodeJsonLine(entry, lastIso, buf, dest.end));
    };
  }
  // A line recorded after close (a tunnel torn down at the very end of a drain) is appended synchronously instead:
  // never lost, never a throw from the closed stream.
  let closed = false;
  const late = (entry: AccessRecord): void => {
    const line =
      log.format === 'squid'
        ? `${formatSquidLine(entry, viaParent)}\n`
        : `${formatJsonLine(entry, new Date(entry.time).toISOString())}\n`;
    try {
      if (dest.path === null) (log.file === 'stderr' ? process.stderr : process.stdout).write(line);
      else appendFileSync(dest.path, line);
    } catch (err) {
      say(`access log ${log.file}: ${(err as Error).message}`);
    }
  };
  return {
    settings: log,
    record(entry) {
      metrics?.observeRecord(entry);
      if (closed) late(entry);
      else write(entry);
    },
    reopen: () => dest.reopen(),
    flush: () => dest.flush(),
    close: () => {
      closed = true;
      return dest.close();
    },
  };
}

/**
 * AccessRecord -> one log line. Two formats:
 *   json   the fields below, snake_case, one object per line, exactly as JSON.stringify would write it
 *   squid  Squid's native access.log line, `%ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt`,
 *          checked field by field against Squid 5.7's own lines so Squid log tools keep working.
 * Query strings are cut after the `?` in both (Squid's `strip_query_terms on`): they often carry credentials.
 */
import type { AccessRecord } from '../core/context.js';
import { encodeJsonLine, jsonLineBound } from './json-line.js';
import { stripQuery } from './strip-query.js';

export { stripQuery };

/** The JSON line's fields after `time` (written first by the sink), in order. No credentials, no request headers. */
export interface AccessJsonFields {
  client: string;
  container: string | null;
  method: string;
  host: string;
  port: number;
  path: string | null;
  verdict: AccessRecord['verdict'];
  reason: string;
  rule: string | null;
  status: number;
  bytes_up: number;
  bytes_down: number;
  duration_ms: number;
  upstream: string | null;
  answers: string[] | null;
  close_reason: string | null;
  sni: string | null;
  content_type: string | null;
  /** Present (true) only when the request was sent again on a fresh connection. */
  retried?: true;
}

/** The JSON fields of one record (without `time`), in the line's order (`retried` added only when set). */
export function toJsonFields(e: AccessRecord): AccessJsonFields {
  const fields: AccessJsonFields = {
    client: e.client,
    container: e.container,
    method: e.method,
    host: e.host,
    port: e.port,
    path: e.path === null ? null : stripQuery(e.path),
    verdict: e.verdict,
    reason: e.reason,
    rule: e.rule,
    status: e.status,
    bytes_up: e.bytesUp,
    bytes_down: e.bytesDown,
    duration_ms: e.durationMs,
    upstream: e.upstream,
    answers: e.answers,
    close_reason: e.closeReason,
    sni: e.sni,
    content_type: e.contentType,
  };
  if (e.retried) fields.retried = true;
  return fields;
}

/**
 * One JSON line without the newline: `time` (the ISO form of `e.time`, formatted by the caller) and the fields, the
 * same text as `JSON.stringify({ time, ...toJsonFields(e) })`, from the bytes json-line.ts writes (the sink writes
 * those into its buffer directly; this string is for a line written after close, and for the tests).
 */
export function formatJsonLine(e: AccessRecord, isoTime: string): string {
  // Exactly the bound: a line that needed more would come out cut, and the tests would see it.
  const buf = Buffer.allocUnsafe(jsonLineBound(e, isoTime));
  return buf.toString('utf8', 0, encodeJsonLine(e, isoTime, buf, 0) - 1);
}

/** `[v6]` for an IPv6 literal, else the host as is. */
function bracketed(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Squid's `%ru`: `host:port` for CONNECT, `http://host[:port]/path` otherwise (port left out when 80). */
export function squidUrl(e: Pick<AccessRecord, 'method' | 'host' | 'port' | 'path'>): string {
  if (e.host === '-' || e.host === '') return `error:${e.method === '-' ? 'invalid-request' : 'unknown'}`;
  const host = bracketed(e.host);
  if (e.method === 'CONNECT') return `${host}:${e.port}`;
  const port = e.port === 80 || e.port === 0 ? '' : `:${e.port}`;
  return `http://${host}${port}${stripQuery(e.path ?? '/')}`;
}

/**
 * Squid's result code (`%Ss`): TCP_DENIED for every deny, TCP_TUNNEL for an established CONNECT, NONE_NONE for
 * what never reached an origin (bad requests, failed CONNECTs), TCP_MISS for the rest (nothing is cached).
 */
export function squidResultCode(e: Pick<AccessRecord, 'verdict' | 'method' | 'status' | 'upstream'>): string {
  if (e.verdict === 'deny') return 'TCP_DENIED';
  if (e.method === 'CONNECT') return e.status === 200 ? 'TCP_TUNNEL' : 'NONE_NONE';
  if (e.method === '-') return 'NONE_NONE';
  return 'TCP_MISS';
}

/** Squid's hierarchy column `%Sh/%<a`: HIER_DIRECT/addr, FIRSTUP_PARENT/addr, HIER_NONE/-. */
export function squidHierarchy(upstream: string | null, viaParent: boolean): string {
  if (upstream === null) return 'HIER_NONE/-';
  // `addr:port` or `[v6]:port` -> the address alone, as Squid's %<a prints it.
  let addr = upstream;
  if (addr.startsWith('[')) addr = addr.slice(1, addr.indexOf(']'));
  else if (addr.lastIndexOf(':') > -1 && addr.indexOf(':') === addr.lastIndexOf(':'))
    addr = addr.slice(0, addr.lastIndexOf(':'));
  return `${viaParent ? 'FIRSTUP_PARENT' : 'HIER_DIRECT'}/${addr}`;
}

/** A token with no whitespace (Squid tools split on spaces). */
function token(s: string | null): string {
  if (s === null || s === '') return '-';
  return s.replace(/\s/g, '_');
}

/** One Squid access.log line (without the newline). `viaParent`: the config chains through `upstream`. */
export function formatSquidLine(e: AccessRecord, viaParent: boolean): string {
  const ms = Math.max(0, Math.round(e.time));
  const ts = `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}`;
  const tr = String(Math.max(0, Math.round(e.durationMs))).padStart(6, ' ');
  const status = String(e.status).padStart(3, '0');
  const method = e.method === '-' ? 'NONE' : token(e.method);
  return `${ts} ${tr} ${token(e.client)} ${squidResultCode(e)}/${status} ${e.bytesDown} ${method} ${token(squidUrl(e))} - ${squidHierarchy(e.upstream, viaParent)} ${token(e.contentType)}`;
}

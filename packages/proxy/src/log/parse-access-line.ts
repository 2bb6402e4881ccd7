/**
 * One access-log line back into its fields, json or squid format, told apart per line (a json line starts with
 * `{`). Used by `cuttle replay` and by the tests that read the log back. Squid lines from Squid itself parse too.
 */

/** The fields a line carries. Squid lines know less: no reason or rule, `verdict` inferred from the result code. */
export interface ParsedAccessLine {
  readonly format: 'json' | 'squid';
  /** Start time, ms since the epoch. */
  readonly time: number;
  readonly client: string;
  readonly method: string;
  /** Destination host (IPv6 without brackets), or '-' when the request never named one. */
  readonly host: string;
  readonly port: number;
  readonly path: string | null;
  readonly verdict: 'allow' | 'deny' | 'would_deny' | 'error';
  readonly reason: string | null;
  readonly rule: string | null;
  readonly status: number;
  readonly bytesDown: number;
  readonly durationMs: number;
  /** Squid only: the result code (`TCP_DENIED`) and hierarchy column (`HIER_DIRECT/127.0.0.1`). */
  readonly resultCode?: string;
  readonly hierarchy?: string;
  readonly user?: string;
  readonly contentType: string | null;
}

const SQUID_LINE =
  /^(\d+)\.(\d{3})\s+(\d+)\s+(\S+)\s+([A-Z_]+)\/(\d{3})\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+([A-Z_]+\/\S+)\s+(\S+)$/;

/** `host:port` or `[v6]:port` -> parts, or null. */
function splitHostPort(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (m === null) return null;
  return { host: (m[1] ?? m[2]) as string, port: Number(m[3]) };
}

/** Squid's `%ru` back into host, port and path. */
function parseSquidUrl(
  method: string,
  url: string,
): { host: string; port: number; path: string | null } | null {
  if (url.startsWith('error:')) return { host: '-', port: 0, path: null };
  if (method === 'CONNECT') {
    const hp = splitHostPort(url);
    return hp === null ? null : { ...hp, path: null };
  }
  const m = /^(https?):\/\/(?:\[([^\]]+)\]|([^/:?#]+))(?::(\d{1,5}))?(\/[^\s]*)?$/i.exec(url);
  if (m === null) return null;
  const scheme = (m[1] as string).toLowerCase();
  const port = m[4] === undefined ? (scheme === 'https' ? 443 : 80) : Number(m[4]);
  return { host: (m[2] ?? m[3]) as string, port, path: m[5] ?? '/' };
}

function squidVerdict(code: string): ParsedAccessLine['verdict'] {
  if (code.startsWith('TCP_DENIED')) return 'deny';
  if (code.startsWith('NONE')) return 'error';
  return 'allow';
}

function parseSquid(line: string): ParsedAccessLine | null {
  const m = SQUID_LINE.exec(line);
  if (m === null) return null;
  const method = m[8] as string;
  const target = parseSquidUrl(method, m[9] as string);
  if (target === null) return null;
  const resultCode = m[5] as string;
  const contentType = m[12] as string;
  return {
    format: 'squid',
    time: Number(m[1]) * 1000 + Number(m[2]),
    durationMs: Number(m[3]),
    client: m[4] as string,
    resultCode,
    status: Number(m[6]),
    bytesDown: Number(m[7]),
    method: method === 'NONE' ? '-' : method,
    ...target,
    user: m[10] as string,
    hierarchy: m[11] as string,
    contentType: contentType === '-' ? null : contentType,
    verdict: squidVerdict(resultCode),
    reason: null,
    rule: null,
  };
}

const VERDICTS = new Set(['allow', 'deny', 'would_deny', 'error']);

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function parseJson(line: string): ParsedAccessLine | null {
  let o: Record<string, unknown>;
  try {
    const v = JSON.parse(line) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
    o = v as Record<string, unknown>;
  } catch {
    return null;
  }
  const verdict = str(o.verdict);
  const method = str(o.method);
  const host = str(o.host);
  if (verdict === null || !VERDICTS.has(verdict) || method === null || host === null) return null;
  const time = typeof o.time === 'number' ? o.time : Date.parse(str(o.time) ?? '');
  return {
    format: 'json',
    time: Number.isFinite(time) ? time : 0,
    client: str(o.client) ?? '-',
    method,
    host,
    port: typeof o.port === 'number' ? o.port : 0,
    path: str(o.path),
    verdict: verdict as ParsedAccessLine['verdict'],
    reason: str(o.reason),
    rule: str(o.rule),
    status: typeof o.status === 'number' ? o.status : 0,
    bytesDown: typeof o.bytes_down === 'number' ? o.bytes_down : 0,
    durationMs: typeof o.duration_ms === 'number' ? o.duration_ms : 0,
    contentType: str(o.content_type),
  };
}

/** Parses one line (json or squid, detected per line); null when it is neither. */
export function parseAccessLine(line: string): ParsedAccessLine | null {
  const t = line.trim();
  if (t === '') return null;
  return t.startsWith('{') ? parseJson(t) : parseSquid(t);
}

/**
 * The squid.conf directives that map onto cuttle settings rather than policy: resolvers, Via and X-Forwarded-For,
 * timeouts, header size, the access log, the parent proxy. Each handler reads one directive into `Settings` and
 * returns what it became (for the report) or throws a `SettingError` with the message for the line.
 */
import { parseIpAddress } from '../net/address.js';
import type { SquidDirective } from './read-squid-conf.js';

/** The cuttle settings collected from squid.conf (written into the config as they are). */
export interface Settings {
  dns?: { servers?: string[] };
  forwarded?: { via?: boolean; x_forwarded_for?: boolean };
  timeouts?: Record<string, number>;
  limits?: Record<string, number>;
  log?: { file?: string; format?: 'squid' | 'json' };
  upstream?: string;
}

/** A directive whose value cannot be used; the message is reported at its line. */
export class SettingError extends Error {
  override readonly name = 'SettingError';
}

/** What a handler did: the key it set and, optionally, a warning for the line. */
export interface SettingResult {
  readonly key: string;
  readonly warning?: string;
}

const TIME_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  msec: 1,
  msecs: 1,
  millisecond: 1,
  milliseconds: 1,
  second: 1000,
  seconds: 1000,
  sec: 1000,
  minute: 60_000,
  minutes: 60_000,
  min: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};
const SIZE_UNITS: Readonly<Record<string, number>> = { bytes: 1, byte: 1, KB: 1024, MB: 1024 * 1024 };

/** `N [unit]` as milliseconds (Squid's default unit for these directives is seconds). */
function durationMs(d: SquidDirective): number {
  const [n, unit = 'seconds', extra] = d.args;
  const factor = TIME_UNITS[unit];
  if (n === undefined || !/^[0-9]+(?:\.[0-9]+)?$/.test(n) || factor === undefined || extra !== undefined)
    throw new SettingError(`${d.name} needs a duration such as "30 seconds"`);
  const ms = Math.round(Number(n) * factor);
  if (ms < 1) throw new SettingError(`${d.name} ${d.args.join(' ')}: cuttle timeouts are at least 1 ms`);
  return ms;
}

const TIMEOUT_KEY: Readonly<Record<string, string>> = {
  connect_timeout: 'upstream_connect_ms',
  read_timeout: 'upstream_response_ms',
  request_timeout: 'header_ms',
  client_idle_pconn_timeout: 'keepalive_ms',
  dns_timeout: 'dns_ms',
};

function onOff(d: SquidDirective): boolean {
  const [v, extra] = d.args;
  if ((v !== 'on' && v !== 'off') || extra !== undefined) throw new SettingError(`${d.name} needs on or off`);
  return v === 'on';
}

/** Reads `d` into `s`; null when `d` is not a settings directive. */
export function readSetting(d: SquidDirective, s: Settings): SettingResult | null {
  const timeout = TIMEOUT_KEY[d.name];
  if (timeout !== undefined) {
    s.timeouts = { ...s.timeouts, [timeout]: durationMs(d) };
    return { key: `timeouts.${timeout}` };
  }
  switch (d.name) {
    case 'dns_nameservers': {
      const bad = d.args.find((a) => parseIpAddress(a) === null);
      if (d.args.length === 0 || bad !== undefined)
        throw new SettingError(
          `dns_nameservers needs IP addresses${bad === undefined ? '' : `, not "${bad}"`}`,
        );
      s.dns = { servers: [...(s.dns?.servers ?? []), ...d.args] };
      return { key: 'dns.servers' };
    }
    case 'positive_dns_ttl': {
      const ms = durationMs(d);
      s.dns = { ...s.dns };
      (s as { dns: Record<string, unknown> }).dns.max_ttl_s = Math.max(0, Math.round(ms / 1000));
      return { key: 'dns.max_ttl_s' };
    }
    case 'via':
      s.forwarded = { ...s.forwarded, via: onOff(d) };
      return { key: 'forwarded.via' };
    case 'forwarded_for': {
      const v = d.args[0];
      const map: Record<string, boolean> = {
        on: true,
        truncate: true,
        off: false,
        delete: false,
        transparent: false,
      };
      if (v === undefined || map[v] === undefined || d.args.length > 1)
        throw new SettingError('forwarded_for needs on, off, transparent, truncate or delete');
      s.forwarded = { ...s.forwarded, x_forwarded_for: map[v] as boolean };
      return {
        key: 'forwarded.x_forwarded_for',
        ...(v === 'off'
          ? { warning: 'forwarded_for off: Squid sends "X-Forwarded-For: unknown", cuttle sends none' }
          : {}),
        ...(v === 'truncate'
          ? { warning: 'forwarded_for truncate: cuttle appends the client to any X-Forwarded-For received' }
          : {}),
      };
    }
    case 'request_header_max_size': {
      const [n, unit = 'bytes'] = d.args;
      const factor = SIZE_UNITS[unit];
      if (n === undefined || !/^[0-9]+$/.test(n) || factor === undefined)
        throw new SettingError('request_header_max_size needs a size such as "64 KB"');
      const bytes = Number(n) * factor;
      if (bytes < 1024 || bytes > 1048576)
        throw new SettingError(`request_header_max_size ${d.args.join(' ')}: cuttle takes 1 KB to 1 MB`);
      s.limits = { ...s.limits, max_header_bytes: bytes };
      return { key: 'limits.max_header_bytes' };
    }
    case 'client_ip_max_connections': {
      const [n] = d.args;
      if (n === undefined || !/^[0-9]+$/.test(n) || Number(n) < 1)
        throw new SettingError(
          'client_ip_max_connections needs a number (-1, Squid\'s "no limit", is the default)',
        );
      s.limits = { ...s.limits, max_connections_per_client: Number(n) };
      return { key: 'limits.max_connections_per_client' };
    }
    case 'access_log':
      return readAccessLog(d, s);
    default:
      return null;
  }
}

/** `access_log none | [stdio:|daemon:]PATH [FORMAT [ACL...]]`; cuttle keeps one log, so only the first counts. */
function readAccessLog(d: SquidDirective, s: Settings): SettingResult {
  const [where, format, ...acls] = d.args;
  if (where === undefined) throw new SettingError('access_log needs a place');
  if (where === 'none')
    return { key: '(none)', warning: 'access_log none: cuttle always writes its access log (log.file)' };
  if (s.log !== undefined)
    return { key: '(none)', warning: `a second access_log: cuttle writes one access log, ${s.log.file}` };
  const m = /^(?:(stdio|daemon):)?(\/.*)$/.exec(where);
  if (m === null)
    return {
      key: '(none)',
      warning: `access_log ${where}: cuttle writes to a file, stdout or stderr (log.file)`,
    };
  s.log = { file: m[2] as string, format: 'squid' };
  const notes: string[] = [];
  if (format !== undefined && format !== 'squid')
    notes.push(`log format '${format}': cuttle writes Squid's native format (log.format: squid)`);
  if (acls.length > 0) notes.push('cuttle logs every request: the ACLs on access_log are not used');
  return { key: 'log.file, log.format', ...(notes.length > 0 ? { warning: notes.join('; ') } : {}) };
}

const PEER_OPTIONS_IGNORED =
  /^(?:no-query|no-digest|no-netdb-exchange|default|proxy-only|round-robin|weighted-round-robin|carp|sourcehash|userhash|no-delay|background-ping|closest-only|no-tproxy|name=.*|weight=.*|connect-timeout=.*|connect-fail-limit=.*|max-conn=.*|standby=.*)$/;

/** `cache_peer HOST parent HTTP-PORT ICP-PORT [OPTIONS]` -> `upstream: http://[USER:PASS@]HOST:PORT`. */
export function readCachePeer(d: SquidDirective, s: Settings): SettingResult {
  const [host, type, port, , ...opts] = d.args;
  if (host === undefined || type === undefined || port === undefined)
    throw new SettingError('cache_peer needs HOST TYPE HTTP-PORT ICP-PORT');
  if (type !== 'parent')
    throw new SettingError(
      `cache_peer type '${type}': cuttle only forwards to one parent proxy (type parent)`,
    );
  if (s.upstream !== undefined)
    throw new SettingError(`a second cache_peer parent: cuttle has one upstream (${s.upstream})`);
  if (!/^[0-9]+$/.test(port) || Number(port) < 1 || Number(port) > 65535)
    throw new SettingError(`cache_peer port "${port}" is not 1-65535`);
  let userinfo = '';
  for (const o of opts) {
    if (o.startsWith('login=')) {
      const v = o.slice(6);
      if (
        v === 'PASS' ||
        v === 'PASSTHRU' ||
        v === '*' ||
        v.startsWith('*:') ||
        v === 'NEGOTIATE' ||
        !v.includes(':')
      )
        throw new SettingError(
          `cache_peer login=${v}: cuttle sends fixed credentials only (login=USER:PASS)`,
        );
      userinfo = `${v
        .split(':')
        .map((x) => encodeURIComponent(x))
        .join(':')}@`;
    } else if (o === 'originserver')
      throw new SettingError('cache_peer originserver: a reverse proxy; cuttle is a forward proxy');
    else if (o === 'ssl' || o === 'tls' || o.startsWith('tls-') || o.startsWith('ssl'))
      throw new SettingError(`cache_peer ${o}: cuttle talks plain HTTP to its upstream`);
    else if (!PEER_OPTIONS_IGNORED.test(o)) throw new SettingError(`unsupported cache_peer option '${o}'`);
  }
  const h = parseIpAddress(host)?.kind === 'ipv6' ? `[${host}]` : host;
  s.upstream = `http://${userinfo}${h}:${port}`;
  return { key: 'upstream' };
}

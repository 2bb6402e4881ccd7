/**
 * The config schema: the single source of truth for cuttle's config file. Defaults and units live here; the types
 * derive from it; docs/config-reference.md is generated from it (`pnpm -s cuttle config-reference`).
 *
 * The top-level keys `listen`, `clients`, `ports`, `connect_ports`, `allow`, `destinations.allow_ranges`,
 * `dns.hosts`, `log` and `metrics.listen` are a contract used by tests outside this repository: keep their names
 * and meanings.
 */
import { z } from 'zod';
import { parseIpAddress } from '../net/address.js';
import { PortSet, validatePortSpec } from '../net/port-set.js';
import { validateListenAddress } from './listen-address.js';
import { validateAddressRange, validateDomainPattern, validateUpstream } from './validators.js';

/** A string refined by `check` (null: valid, else the message); validators.ts, which the policy compiler uses too. */
const checked = (check: (s: string) => string | null) =>
  z
    .string()
    .min(1)
    .superRefine((value, ctx) => {
      const message = check(value);
      if (message !== null) ctx.addIssue({ code: 'custom', message, input: value });
    });

const port = z.number().int().min(1).max(65535);

/** An entry of a destination port list: a port, or an inclusive range as text (`"1025-65535"`). */
const portSpec = z
  .union([
    port,
    z.string().superRefine((value, ctx) => {
      const message = validatePortSpec(value);
      if (message !== null) ctx.addIssue({ code: 'custom', message, input: value });
    }),
  ])
  .describe('port 1-65535, or a range `"LOW-HIGH"` such as `"1025-65535"`');

/** A CIDR range or a single address, IPv4 or IPv6; an IPv6 range may carry a zone (`fe80::/10%lxdbr0`). */
const cidr = checked(validateAddressRange).describe(
  'CIDR range or address, e.g. `fe80::/10`, `127.0.0.1`, `fe80::/10%lxdbr0`',
);

/** A destination name pattern: `name`, `.name` (name and subdomains) or a label glob. */
const domainPattern = checked(validateDomainPattern).describe(
  'Name pattern: `name`, `.name` (the name and its subdomains), `*.name` (one label), `**.name` (one or more)',
);

/** A listen address (see listen-address.ts). */
const listenAddress = checked(validateListenAddress).describe(
  '`IFACE:PORT`, `[IPV6%ZONE]:PORT`, `IPV4:PORT`, `[::1]:PORT` or `unix:PATH`; never a wildcard',
);

/** An IP address as a resolver answers it (no range, no zone). */
const ipAddress = checked((s) => {
  const a = parseIpAddress(s);
  if (a === null) return `"${s}" is not an IP address`;
  return a.kind === 'ipv6' && a.zone !== undefined ? `"${s}": a zone is not allowed here` : null;
}).describe('IP address');

const durationMs = z.number().int().min(1);

export const timeoutsSchema = z
  .strictObject({
    header_ms: durationMs
      .default(10_000)
      .describe(
        'Time allowed to receive a request head (slowloris guard), ms. On reload: applies to every connection from the next check (each second), heads already being received included.',
      ),
    request_body_idle_ms: durationMs
      .default(30_000)
      .describe('Idle time allowed while a request body streams, ms.'),
    upstream_connect_ms: durationMs
      .default(10_000)
      .describe('Time allowed to connect to an origin or parent, ms.'),
    upstream_response_ms: durationMs
      .default(60_000)
      .describe('Time allowed for an origin to start its response, ms.'),
    tunnel_idle_ms: durationMs
      .default(300_000)
      .describe('A CONNECT tunnel with no traffic either way is closed after this, ms.'),
    keepalive_ms: durationMs
      .default(5_000)
      .describe(
        'Idle time a client keep-alive connection is kept open, ms. On reload: applies to every connection from its next response on.',
      ),
    dns_ms: durationMs.default(5_000).describe('Time allowed for one name resolution, ms.'),
    drain_ms: durationMs
      .default(30_000)
      .describe('On SIGTERM, time in-flight requests and tunnels get to finish, ms.'),
  })
  .prefault({})
  .describe('Timeouts, all in milliseconds.');

export const limitsSchema = z
  .strictObject({
    max_connections: z
      .number()
      .int()
      .min(1)
      .default(4096)
      .describe('Client connections open at once, in total.'),
    max_connections_per_client: z
      .number()
      .int()
      .min(1)
      .default(256)
      .describe('Client connections open at once from one client address.'),
    max_header_count: z
      .number()
      .int()
      .min(8)
      .max(1000)
      .default(100)
      .describe(
        'Header lines in a request or response head; reaching it is 431 (request) or 502 (response). On reload: a lower value applies to every request from then on, a higher one only to connections accepted after the reload, or that had sent nothing yet (fixed per connection when its first bytes arrive).',
      ),
    max_header_bytes: z
      .number()
      .int()
      .min(1024)
      .max(1_048_576)
      .default(16_384)
      .describe(
        'Bytes in a request or response head. On reload: applies to connections accepted after the reload, or that had sent nothing yet (fixed per connection when its first bytes arrive); those already sending keep the old limit.',
      ),
    over_limit: z
      .enum(['reject', 'drop'])
      .default('reject')
      .describe(
        'Over a connection limit the connection is refused before anything it sent is read as HTTP (nothing is forwarded, one `limit_exceeded` log line): `reject` answers 503, `drop` closes without an answer. Either way the close lingers up to 2 s, discarding what the client still sends, so the 503 is not lost to a reset.',
      ),
  })
  .prefault({})
  .describe('Connection and header limits.');

/** One first-match rule; every condition given must hold (AND). `not_*` negates a condition, like `!acl` in Squid. */
export const ruleSchema = z
  .strictObject({
    name: z.string().min(1).optional().describe('Shown as `rule` in decisions and logs.'),
    action: z.enum(['allow', 'deny']).describe('What a matching request gets.'),
    clients: z.array(cidr).optional().describe('Client address is in one of these ranges.'),
    not_clients: z.array(cidr).optional().describe('Client address is in none of these ranges.'),
    ports: z.array(portSpec).optional().describe('Destination port is one of these (ports or ranges).'),
    not_ports: z.array(portSpec).optional().describe('Destination port is none of these (ports or ranges).'),
    methods: z.array(z.string().min(1)).optional().describe('Method is one of these (CONNECT included).'),
    not_methods: z.array(z.string().min(1)).optional().describe('Method is none of these.'),
    domains: z
      .array(domainPattern)
      .optional()
      .describe('Destination name matches one of these patterns (same forms as `allow`).'),
    not_domains: z
      .array(domainPattern)
      .optional()
      .describe('Destination name matches none of these patterns.'),
    dst: z.array(cidr).optional().describe('Destination is an IP literal in one of these ranges.'),
    not_dst: z.array(cidr).optional().describe('Destination is not an IP literal in one of these ranges.'),
    mode: z
      .enum(['enforce', 'report'])
      .optional()
      .describe(
        'Deny rules only. `report`: a request this rule would deny goes through and is logged as `would_deny`; `enforce` denies even under a top-level `mode: report`. Unset: the top-level `mode`.',
      ),
  })
  .refine((r) => r.mode !== 'report' || r.action === 'deny', {
    message: '`mode: report` only applies to rules with `action: deny`',
    path: ['mode'],
  })
  .describe('A first-match rule (Squid http_access with ANDed ACLs).');

export const configSchema = z
  .strictObject({
    listen: z
      .array(listenAddress)
      .min(1)
      .describe(
        "Where to listen: `IFACE:PORT` (that interface's fe80 address with zone), `[fe80::1%lxdbr0]:3128`, `127.0.0.1:3128`, `[::1]:3128`, `unix:/run/cuttle/NAME.sock` (see `unix_socket`). Never a wildcard.",
      ),
    unix_socket: z
      .strictObject({
        mode: z
          .string()
          .regex(/^0?[0-7]{3}$/, 'expected an octal mode such as "0660"')
          .default('0660')
          .describe(
            'Permission bits of every `unix:` listen socket, octal text. Connecting needs write permission.',
          ),
        owner: z
          .string()
          .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'expected a user name or numeric uid')
          .nullable()
          .default(null)
          .describe("User (name or uid) owning the socket files; null: the daemon's user."),
        group: z
          .string()
          .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'expected a group name or numeric gid')
          .nullable()
          .default(null)
          .describe("Group (name or gid) of the socket files; null: the daemon's group."),
      })
      .prefault({})
      .describe(
        '`unix:` listen sockets. Peers are clients by definition (`clients` is for IP listeners); identity `unix:NAME`, granted `containers.NAME`. A stale socket is replaced; a live one or another file: error.',
      ),
    clients: z
      .array(cidr)
      .default(['fe80::/10'])
      .describe('Source ranges allowed to use the proxy (Squid: acl src).'),
    ports: z
      .array(portSpec)
      .default([80, 443])
      .describe(
        'Destination ports for plain HTTP, ports or ranges such as `"1025-65535"` (Squid: Safe_ports).',
      ),
    connect_ports: z
      .array(portSpec)
      .default([443])
      .describe('Destination ports for CONNECT (Squid: SSL_ports that are also Safe_ports).'),
    allow: z
      .array(domainPattern)
      .default([])
      .describe(
        'Destination names (Squid: dstdomain): `name` exactly, `.name` the name and all subdomains, globs where `*` is one label and `**` one or more.',
      ),
    allow_ips: z
      .array(cidr)
      .default([])
      .describe('IP-literal destinations allowed (Squid: dst). Empty: every IP literal is denied.'),
    mode: z
      .enum(['enforce', 'report'])
      .default('enforce')
      .describe(
        '`report`: requests the policy would deny (allowlist, ports, IP literals, deny rules) go through and are logged as `would_deny`. Client, method, host-validity and private-address checks always enforce.',
      ),
    rules: z
      .array(ruleSchema)
      .default([])
      .describe(
        'First-match rules checked after `clients`, `ports` and `connect_ports` and before `allow`; used by the squid.conf importer.',
      ),
    destinations: z
      .strictObject({
        allow_ranges: z
          .array(cidr)
          .default([])
          .describe('Resolved addresses exempt from the private-address guard.'),
      })
      .prefault({})
      .describe('What resolved destination addresses may be.'),
    dns: z
      .strictObject({
        hosts: z
          .record(z.string().min(1), z.array(ipAddress).min(1))
          .default({})
          .describe(
            'Static answers checked before the system resolver, e.g. `{"mirror.test": ["127.0.0.1"]}` (Squid: hosts_file).',
          ),
        servers: z
          .array(z.string().min(1))
          .default([])
          .describe(
            'Resolvers to ask (`127.0.0.53`, `[::1]:5353`) instead of the system ones; when set, /etc/hosts and the system lookup are not consulted. Empty: the system resolver configuration.',
          ),
        max_ttl_s: z
          .number()
          .int()
          .min(0)
          .default(300)
          .describe('Longest time a resolver answer is cached, seconds.'),
      })
      .prefault({})
      .describe('Name resolution.'),
    connect: z
      .strictObject({
        require_sni: z
          .boolean()
          .default(true)
          .describe(
            'Close a CONNECT tunnel whose TLS ClientHello has no SNI or one that is not the CONNECT host.',
          ),
        http_ports: z
          .array(port)
          .default([])
          .describe(
            'CONNECT ports that carry plain HTTP (Node fetch tunnels `http://` URLs to port 80): instead of the SNI check, the first request in the tunnel must be HTTP/1.x naming the CONNECT host and port (Host header and any absolute-form target), else the tunnel is closed (`host_mismatch`). Only the first request is checked. The port must also be in `connect_ports`.',
          ),
      })
      .prefault({})
      .describe('CONNECT tunnels.'),
    upstream: checked(validateUpstream)
      .nullable()
      .default(null)
      .describe(
        'Parent proxy `http://[user:pass@]host:port` for every request (Squid: cache_peer parent + never_direct). Checked at load: another scheme, a path, or a missing or out-of-range port is a config error.',
      ),
    forwarded: z
      .strictObject({
        via: z.boolean().default(false).describe('Add a `Via: 1.1 cuttle` header to forwarded requests.'),
        x_forwarded_for: z.boolean().default(false).describe("Add the client's address in X-Forwarded-For."),
      })
      .prefault({})
      .describe('Headers that reveal the proxy or the client to origins; off by default.'),
    forward: z
      .strictObject({
        https_absolute_form: z
          .boolean()
          .default(true)
          .describe(
            'Accept `GET https://host/path` (absolute-form with an https URL, sent by busybox wget instead of CONNECT): same policy with port 443 by default and checked against `ports`; cuttle opens TLS to the checked address and verifies the origin certificate for the host (system CAs plus `tls.ca_file`); a failed verification is a 502 `upstream_tls`. false: 400 `bad_target`.',
          ),
      })
      .prefault({})
      .describe('Plain (non-CONNECT) forwarding.'),
    tls: z
      .strictObject({
        ca_file: z
          .string()
          .min(1)
          .nullable()
          .default(null)
          .describe(
            'PEM file of CA certificates trusted for origins of https absolute-form requests, in addition to the system CAs.',
          ),
      })
      .prefault({})
      .describe(
        'TLS that cuttle originates (https absolute-form only; CONNECT tunnels are never terminated).',
      ),
    timeouts: timeoutsSchema,
    limits: limitsSchema,
    log: z
      .strictObject({
        file: z.string().min(1).default('stdout').describe('Access log: `stdout`, `stderr` or a file path.'),
        format: z
          .enum(['json', 'squid'])
          .default('json')
          .describe("`json` lines, or Squid's native access.log line."),
      })
      .prefault({})
      .describe('The access log: one line per request and per tunnel.'),
    metrics: z
      .strictObject({
        listen: listenAddress
          .nullable()
          .default('[::1]:9128')
          .describe('Where Prometheus metrics and /healthz are served; null turns them off.'),
      })
      .prefault({})
      .describe('Prometheus metrics.'),
    identity: z
      .strictObject({
        map_file: z
          .string()
          .min(1)
          .nullable()
          .default(null)
          .describe(
            'Container identity map written by `cuttle-provision identity --watch` (instance name, MAC, fe80 address); re-read when it changes. null: identity is the address alone.',
          ),
        socket_dir: z
          .string()
          .regex(/^\/(?:[^/]+\/?)*$/, 'an absolute directory path')
          .max(
            38,
            'at most 38 bytes: DIR/NAME.sock must fit sockaddr_un (107 bytes) for a 63-byte instance name',
          )
          .nullable()
          .default(null)
          .describe(
            'Per-instance sockets: cuttle binds DIR/NAME.sock for every instance the identity map lists with "socket": true (added and removed as the map changes; mode and owner from unix_socket). The socket name is the identity. null: off.',
          ),
      })
      .refine((v) => v.socket_dir === null || v.map_file !== null, {
        message: 'needs identity.map_file: the map says which instances get a socket',
        path: ['socket_dir'],
      })
      .prefault({})
      .describe('Which container a client address belongs to (logged as `container`).'),
    containers: z
      .record(
        z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/, 'an LXD instance name'),
        z.strictObject({
          allow: z
            .array(domainPattern)
            .default([])
            .describe('Names this container may reach in addition to `allow` (same pattern forms).'),
        }),
      )
      .default({})
      .describe(
        'Per-container additions to the policy, by instance name. Only granted when the identity is authoritative: its own unix socket, or a NIC the identity map marks as filtered (MAC filtering plus LXD IPv6 filtering or the cuttle bridge guard): an address that can be spoofed never grants.',
      ),
  })
  .superRefine((c, ctx) => {
    let connectPorts: PortSet;
    try {
      connectPorts = new PortSet(c.connect_ports);
    } catch {
      return; // a bad entry is already reported at its position
    }
    c.connect.http_ports.forEach((p, i) => {
      if (!connectPorts.has(p)) {
        ctx.addIssue({
          code: 'custom',
          path: ['connect', 'http_ports', i],
          message: `port ${p} is not in connect_ports, so no CONNECT to it is ever allowed: add it there too`,
        });
      }
    });
  })
  .describe('cuttle proxy configuration.');

/** The config as written in the file (defaults not applied). */
export type ConfigInput = z.input<typeof configSchema>;
/** A validated config with every default applied. */
export type Config = z.output<typeof configSchema>;
export type Rule = z.output<typeof ruleSchema>;

import { analyzeSquid, type ImportSquidOptions, type SquidFiles } from '@cuttle/shared';
import { describe, expect, it } from 'vitest';

// Every warning and error of the importer, with its text and its line. `P` is a policy that imports by itself
// (4 lines), so a row's own line is line 5 unless it says otherwise.
const P = 'acl p port 80 443\nacl s port 443\nhttp_access deny !p\nhttp_access deny CONNECT !s\n';
const TAIL = 'acl lan src 10.0.0.0/8\nhttp_access allow lan\n';

/** In-memory files, paths as written (absolute). */
function memFiles(files: Record<string, string>): SquidFiles {
  return {
    resolve: (p) => (p.startsWith('/') ? p : `/etc/squid/${p}`),
    glob: (pattern) => {
      const re = new RegExp(`^${pattern.replace(/[.+^${}()|\\]/g, '\\$&').replaceAll('*', '[^/]*')}$`);
      return Object.keys(files)
        .filter((f) => re.test(f))
        .sort();
    },
    read: (p) => files[p] ?? null,
  };
}

function run(text: string, files: Record<string, string> = {}, options: ImportSquidOptions = {}) {
  const a = analyzeSquid(text, 's.conf', { files: memFiles(files), ...options });
  const fmt = (i: { file: string; line: number; message: string }) => `${i.file}:${i.line}: ${i.message}`;
  return { issues: a.issues.map(fmt), warnings: a.warnings.map(fmt), imported: a.imported };
}

type Row = [name: string, text: string, expected: string[], files?: Record<string, string>];

describe('importer errors: text and line', () => {
  const rows: Row[] = [
    ['include without a pattern', `${P}include\n${TAIL}`, ['s.conf:5: include needs a file or pattern']],
    [
      'include matching nothing',
      `${P}include /etc/squid/conf.d/*.conf\n${TAIL}`,
      [
        's.conf:5: include /etc/squid/conf.d/*.conf: no such file (Squid stops: "Unable to find configuration file")',
      ],
    ],
    [
      'include nested too deep',
      `${P}include /etc/squid/loop.conf\n${TAIL}`,
      ["/etc/squid/loop.conf:1: include nested more than 16 deep (Squid's limit)"],
      { '/etc/squid/loop.conf': 'include /etc/squid/loop.conf\n' },
    ],
    [
      'an error inside an included file names that file',
      `${P}include /etc/squid/conf.d/*.conf\n${TAIL}`,
      ["/etc/squid/conf.d/b.conf:2: unknown directive 'bogus' (Squid 5.7 does not know it either)"],
      { '/etc/squid/conf.d/a.conf': 'acl x port 80\n', '/etc/squid/conf.d/b.conf': '# b\nbogus 1\n' },
    ],
    ['acl without a type', `${P}acl x\n${TAIL}`, ['s.conf:5: acl needs a name, a type and values']],
    [
      "acl 'all' redefined",
      `${P}acl all src 10.0.0.0/8\n${TAIL}`,
      ["s.conf:5: acl 'all' is built in as 'src all' and cannot be redefined"],
    ],
    [
      'refused acl type',
      `${P}acl u proxy_auth REQUIRED\n${TAIL}`,
      [
        "s.conf:5: acl type 'proxy_auth' has no cuttle equivalent: cuttle has no proxy authentication: allow by client address (src) or container identity",
      ],
    ],
    ['unknown acl type', `${P}acl u colour blue\n${TAIL}`, ["s.conf:5: unknown acl type 'colour'"]],
    [
      'built-in extended with another type',
      `${P}acl localhost dstdomain a.test\n${TAIL}`,
      ["s.conf:5: acl 'localhost' is built in as type 'src'; a 'dstdomain' line cannot extend it"],
    ],
    [
      'acl extended with another type',
      `${P}acl x port 80\nacl x method GET\n${TAIL}`,
      ["s.conf:6: acl 'x' was defined as type 'port' at s.conf:5"],
    ],
    [
      'acl option',
      `${P}acl d dstdomain -i a.test\n${TAIL}`,
      ["s.conf:5: unsupported acl option '-i' for type 'dstdomain'"],
    ],
    [
      'missing list file',
      `${P}acl d dstdomain "/etc/squid/none.txt"\nhttp_access allow d\n`,
      [
        "s.conf:5: acl 'd': list file /etc/squid/none.txt does not exist (Squid would load an empty ACL and change the policy silently)",
      ],
    ],
    ['acl without values', `${P}acl x port\n${TAIL}`, ["s.conf:5: acl 'x' has no values"]],
    [
      'bad port',
      `${P}acl x port 70000\n${TAIL}`,
      ['s.conf:5: invalid port "70000" (1-65535, or a range LOW-HIGH)'],
    ],
    [
      'bad port in a list file names the list file line',
      `${P}acl x port "/etc/squid/ports.txt"\n${TAIL}`,
      ['/etc/squid/ports.txt:3: invalid port "80 81" (1-65535, or a range LOW-HIGH)'],
      { '/etc/squid/ports.txt': '# ports\n443 # https\n80 81\n' },
    ],
    [
      'bad address',
      `${P}acl x src 10.0.0.0/33\n${TAIL}`,
      ['s.conf:5: invalid address or range: invalid prefix length in "10.0.0.0/33"'],
    ],
    [
      'bad address range',
      `${P}acl x src 10.0.0.9-10.0.0.1\n${TAIL}`,
      ['s.conf:5: invalid address or range: "10.0.0.9-10.0.0.1" is not an address range LOW-HIGH'],
    ],
    [
      'bad netmask',
      `${P}acl x src 10.0.0.0/255.0.255.0\n${TAIL}`,
      ['s.conf:5: invalid address or range: "10.0.0.0/255.0.255.0": 255.0.255.0 is not a contiguous netmask'],
    ],
    [
      'dstdom_regex without an exact pattern',
      `${P}acl r dstdom_regex -i example\\.test$\n${TAIL}`,
      [
        "s.conf:5: dstdom_regex 'example\\.test$' has no exact cuttle pattern: list the names in a dstdomain ACL (docs/squid-import.md says which regexes translate)",
      ],
    ],
    [
      'dstdomain wildcard',
      `${P}acl d dstdomain *.a.test\n${TAIL}`,
      ['s.conf:5: "*.a.test": Squid dstdomain has no wildcards'],
    ],
    [
      'bad domain',
      `${P}acl d dstdomain a..test\n${TAIL}`,
      [expect.stringMatching(/^s\.conf:5: .*a\.\.test/) as unknown as string],
    ],
    [
      'bad at_step',
      `${P}acl st at_step SslBump9\n${TAIL}`,
      ['s.conf:5: invalid at_step "SslBump9" (SslBump1, SslBump2 or SslBump3)'],
    ],
    ['bad method', `${P}acl m method G/T\n${TAIL}`, ['s.conf:5: invalid method "G/T"']],
    [
      'at_step in http_access',
      `${P}acl st at_step SslBump1\nhttp_access allow st\n`,
      ["s.conf:6: acl 'st' (at_step) only means something in ssl_bump lines"],
    ],
    [
      'two dstdomain ANDed',
      `${P}acl a dstdomain a.test\nacl b dstdomain b.test\nhttp_access allow a b\n`,
      [
        "s.conf:7: two dstdomain ACLs ANDed in one http_access line ('a' and 'b') have no cuttle equivalent: merge them into one ACL",
      ],
    ],
    [
      'http_access verb',
      `${P}http_access permit all\n`,
      ["s.conf:5: http_access needs allow or deny, got 'permit'"],
    ],
    ['http_access without an ACL', `${P}http_access allow\n`, ['s.conf:5: http_access without an ACL']],
    ['undefined acl', `${P}http_access allow nope\n`, ["s.conf:5: undefined acl 'nope'"]],
    [
      'an acl refused on its line is not undefined again',
      `${P}acl t time MTWHF\nhttp_access allow t\n`,
      [
        "s.conf:5: acl type 'time' has no cuttle equivalent: cuttle has no time-of-day rules: schedule config reloads instead",
      ],
    ],
    ['http_port without a port', `${P}http_port\n${TAIL}`, ['s.conf:5: http_port needs a port']],
    [
      'http_port tproxy',
      `${P}http_port 3129 tproxy\n${TAIL}`,
      [
        's.conf:5: http_port tproxy: a transparent (intercepting) proxy; cuttle is an explicit proxy that clients name in http_proxy/https_proxy (docs/squid-import.md)',
      ],
    ],
    [
      'http_port accel',
      `${P}http_port 80 accel defaultsite=www.test\n${TAIL}`,
      ['s.conf:5: http_port accel: a reverse proxy (accelerator); cuttle is a forward proxy'],
    ],
    [
      'http_port require-proxy-header',
      `${P}http_port 3128 require-proxy-header\n${TAIL}`,
      [
        's.conf:5: http_port require-proxy-header: cuttle takes direct client connections, not the PROXY protocol',
      ],
    ],
    [
      'http_port wildcard address',
      `${P}http_port 0.0.0.0\n${TAIL}`,
      [expect.stringMatching(/^s\.conf:5: http_port /) as unknown as string],
    ],
    [
      'http_port ssl-bump without ssl_bump',
      `${P}http_port 3128 ssl-bump cert=/etc/squid/ca.pem\n${TAIL}`,
      ['s.conf:5: http_port ssl-bump without ssl_bump lines: cuttle does not bump TLS'],
    ],
    ['hosts_file without a path', `${P}hosts_file\n${TAIL}`, ['s.conf:5: hosts_file needs one path']],
    [
      'missing hosts_file',
      `${P}hosts_file /etc/hosts.none\n${TAIL}`,
      ['s.conf:5: hosts_file /etc/hosts.none: no such file'],
    ],
    [
      'bad hosts_file line names the hosts file',
      `${P}hosts_file /etc/squid/hosts\n${TAIL}`,
      ['/etc/squid/hosts:2: "nope" is not an IP address'],
      { '/etc/squid/hosts': '127.0.0.1 a.test\nnope b.test\n' },
    ],
    [
      'never_direct other than allow all',
      `${P}never_direct allow lan\n${TAIL}`,
      [
        "s.conf:5: never_direct allow lan: cuttle sends every request to its upstream or none (only 'never_direct allow all')",
      ],
    ],
    [
      'unknown directive',
      `${P}http_acces allow all\n`,
      ["s.conf:5: unknown directive 'http_acces' (Squid 5.7 does not know it either)"],
    ],
    [
      'refused directive',
      `${P}${TAIL}external_acl_type x %SRC /bin/helper\n`,
      [
        's.conf:7: external_acl_type: an external helper decides access: list the clients or names it would allow',
      ],
    ],
    [
      'icap_enable on',
      `${P}${TAIL}icap_enable on\n`,
      ['s.conf:7: icap_enable: content adaptation (only `icap_enable off`)'],
    ],
    [
      'http_reply_access other than allow all',
      `${P}${TAIL}http_reply_access deny all\n`,
      [
        's.conf:7: http_reply_access: decides on responses: cuttle decides before connecting (only `http_reply_access allow all` is accepted)',
      ],
    ],
    [
      'duration',
      `${P}${TAIL}connect_timeout soon\n`,
      ['s.conf:7: connect_timeout needs a duration such as "30 seconds"'],
    ],
    [
      'zero duration',
      `${P}${TAIL}read_timeout 0 seconds\n`,
      ['s.conf:7: read_timeout 0 seconds: cuttle timeouts are at least 1 ms'],
    ],
    ['on/off', `${P}${TAIL}via maybe\n`, ['s.conf:7: via needs on or off']],
    [
      'dns_nameservers',
      `${P}${TAIL}dns_nameservers dns.test\n`,
      ['s.conf:7: dns_nameservers needs IP addresses, not "dns.test"'],
    ],
    [
      'forwarded_for',
      `${P}${TAIL}forwarded_for sometimes\n`,
      ['s.conf:7: forwarded_for needs on, off, transparent, truncate or delete'],
    ],
    [
      'request_header_max_size form',
      `${P}${TAIL}request_header_max_size big\n`,
      ['s.conf:7: request_header_max_size needs a size such as "64 KB"'],
    ],
    [
      'request_header_max_size range',
      `${P}${TAIL}request_header_max_size 4 MB\n`,
      ['s.conf:7: request_header_max_size 4 MB: cuttle takes 1 KB to 1 MB'],
    ],
    [
      'client_ip_max_connections',
      `${P}${TAIL}client_ip_max_connections -1\n`,
      ['s.conf:7: client_ip_max_connections needs a number (-1, Squid\'s "no limit", is the default)'],
    ],
    ['access_log without a place', `${P}${TAIL}access_log\n`, ['s.conf:7: access_log needs a place']],
    [
      'cache_peer short',
      `${P}${TAIL}cache_peer up.test\n`,
      ['s.conf:7: cache_peer needs HOST TYPE HTTP-PORT ICP-PORT'],
    ],
    [
      'cache_peer sibling',
      `${P}${TAIL}cache_peer up.test sibling 3128 3130\n`,
      ["s.conf:7: cache_peer type 'sibling': cuttle only forwards to one parent proxy (type parent)"],
    ],
    [
      'second cache_peer',
      `${P}${TAIL}cache_peer a.test parent 3128 0\ncache_peer b.test parent 3128 0\n`,
      ['s.conf:8: a second cache_peer parent: cuttle has one upstream (http://a.test:3128)'],
    ],
    [
      'cache_peer port',
      `${P}${TAIL}cache_peer a.test parent 0 0\n`,
      ['s.conf:7: cache_peer port "0" is not 1-65535'],
    ],
    [
      'cache_peer login=PASS',
      `${P}${TAIL}cache_peer a.test parent 3128 0 login=PASS\n`,
      ['s.conf:7: cache_peer login=PASS: cuttle sends fixed credentials only (login=USER:PASS)'],
    ],
    [
      'cache_peer originserver',
      `${P}${TAIL}cache_peer a.test parent 80 0 originserver\n`,
      ['s.conf:7: cache_peer originserver: a reverse proxy; cuttle is a forward proxy'],
    ],
    [
      'cache_peer tls',
      `${P}${TAIL}cache_peer a.test parent 3128 0 tls\n`,
      ['s.conf:7: cache_peer tls: cuttle talks plain HTTP to its upstream'],
    ],
    [
      'cache_peer option',
      `${P}${TAIL}cache_peer a.test parent 3128 0 monitorurl=x\n`,
      ["s.conf:7: unsupported cache_peer option 'monitorurl=x'"],
    ],
    [
      'ssl_bump bump',
      `${P}${TAIL}ssl_bump bump all\n`,
      [
        's.conf:7: ssl_bump bump: cuttle never decrypts TLS; only the peek/splice/terminate SNI allowlist is understood (docs/squid-import.md)',
      ],
    ],
    ['ssl_bump undefined acl', `${P}${TAIL}ssl_bump splice nope\n`, ["s.conf:7: undefined acl 'nope'"]],
    [
      'ssl_bump negated acl',
      `${P}${TAIL}ssl_bump splice !lan\n`,
      ['s.conf:7: ssl_bump splice !lan: negated ACLs are not understood here'],
    ],
    [
      '--strict makes ignored directives errors',
      `${P}${TAIL}refresh_pattern . 0 20% 4320\n`,
      [
        's.conf:7: refresh_pattern has no meaning for cuttle (--strict): caching or cache hierarchy: cuttle caches nothing',
      ],
      { strict: 'yes' },
    ],
  ];
  it.each(rows)('%s', (_name, text, expected, files = {}) => {
    const strict = files.strict === 'yes';
    const r = run(text, strict ? {} : files, { strict });
    expect(r.issues).toEqual(expected);
    expect(r.imported).toBeNull();
  });
});

const SNI = 'acl step1 at_step SslBump1\nacl sni ssl::server_name .ok.test\n';

describe('ssl_bump arrangements that are not an SNI allowlist', () => {
  it.each([
    [
      'peek after splice',
      'ssl_bump splice sni\nssl_bump peek step1\nssl_bump terminate all\n',
      'ssl_bump peek step1: peek after splice: only peek at step 1, then splice, then terminate all',
      10,
    ],
    [
      'peek at another step',
      'acl s2 at_step SslBump2\nssl_bump peek s2\nssl_bump splice sni\nssl_bump terminate all\n',
      "ssl_bump peek s2: peek is only understood at step 1 ('peek step1' or 'peek all')",
      10,
    ],
    [
      'splice by src',
      'ssl_bump peek step1\nssl_bump splice lan\nssl_bump terminate all\n',
      'ssl_bump splice lan: splice is only understood with one ssl::server_name (or dstdomain) ACL, or all',
      10,
    ],
    [
      'terminate by acl',
      'ssl_bump peek step1\nssl_bump splice sni\nssl_bump terminate lan\n',
      "ssl_bump terminate lan: only 'ssl_bump terminate all' is understood",
      11,
    ],
    [
      'after terminate all',
      'ssl_bump peek step1\nssl_bump terminate all\nssl_bump splice sni\n',
      "ssl_bump splice sni: comes after 'ssl_bump terminate all' and is never used",
      11,
    ],
    [
      'no splice',
      'ssl_bump peek step1\nssl_bump terminate all\n',
      'ssl_bump peek step1: no splice line: every TLS connection would be closed',
      9,
    ],
    [
      'no final terminate',
      'ssl_bump peek step1\nssl_bump splice sni\n',
      "ssl_bump splice sni: no final 'ssl_bump terminate all': what Squid does with other names is not an allowlist",
      10,
    ],
  ])('%s', (_name, lines, message, line) => {
    expect(run(`${P}${TAIL}${SNI}${lines}`).issues).toEqual([`s.conf:${line}: ${message}`]);
  });
});

describe('importer warnings: text and line', () => {
  const rows: Row[] = [
    [
      'host bits',
      `${P}acl lan src 10.0.0.1/8\nhttp_access allow lan\n`,
      ['s.conf:5: "10.0.0.1/8" has host bits set: read as 10.0.0.0/8, as Squid does'],
    ],
    [
      'a name already matched by a wider one, at the list file line',
      `${P}acl d dstdomain "/etc/squid/sites.txt"\nhttp_access allow d\n`,
      [
        "/etc/squid/sites.txt:1: acl 'd': 'x.test' is already matched by '.x.test' (Squid 5.7 refuses both in one ACL); kept '.x.test'",
        "/etc/squid/sites.txt:3: acl 'd': 'a.x.test' is already matched by '.x.test' (Squid 5.7 refuses both in one ACL); kept '.x.test'",
      ],
      { '/etc/squid/sites.txt': 'x.test\n.x.test\na.x.test\n' },
    ],
    [
      'lines after deny all',
      `${P}${TAIL}http_access deny all\nhttp_access allow lan\n`,
      [
        "s.conf:8: http_access allow lan: never reached: 'http_access deny all' at s.conf:7 matches every request first",
      ],
    ],
    [
      'every port allowed',
      'acl lan src 10.0.0.0/8\nhttp_access allow lan\n',
      [
        `s.conf:2: Squid allows plain HTTP to EVERY port here (no port ACL denies the rest): imported faithfully as ports: ["1-65535"]; add 'http_access deny !Safe_ports' to narrow it`,
        `s.conf:2: Squid allows CONNECT to EVERY port here (no port ACL denies the rest): imported faithfully as connect_ports: ["1-65535"]; add 'http_access deny !Safe_ports' to narrow it`,
      ],
    ],
    [
      'an ignored directive',
      `${P}${TAIL}cache_dir ufs /var/spool/squid 100 16 256\n`,
      ['s.conf:7: cache_dir ignored: caching or cache hierarchy: cuttle caches nothing'],
    ],
    ['a cache rule', `${P}${TAIL}cache allow lan\n`, ['s.conf:7: cache ignored: cuttle caches nothing']],
    [
      'forwarded_for off',
      `${P}${TAIL}forwarded_for off\n`,
      ['s.conf:7: forwarded_for off: Squid sends "X-Forwarded-For: unknown", cuttle sends none'],
    ],
    [
      'forwarded_for truncate',
      `${P}${TAIL}forwarded_for truncate\n`,
      ['s.conf:7: forwarded_for truncate: cuttle appends the client to any X-Forwarded-For received'],
    ],
    [
      'access_log none',
      `${P}${TAIL}access_log none\n`,
      ['s.conf:7: access_log none: cuttle always writes its access log (log.file)'],
    ],
    [
      'access_log format and acls',
      `${P}${TAIL}access_log stdio:/var/log/a.log combined lan\n`,
      [
        "s.conf:7: log format 'combined': cuttle writes Squid's native format (log.format: squid); cuttle logs every request: the ACLs on access_log are not used",
      ],
    ],
    [
      'a second access_log',
      `${P}${TAIL}access_log /var/log/a.log\naccess_log /var/log/b.log\n`,
      ['s.conf:8: a second access_log: cuttle writes one access log, /var/log/a.log'],
    ],
    [
      'access_log to syslog',
      `${P}${TAIL}access_log syslog:daemon.info\n`,
      ['s.conf:7: access_log syslog:daemon.info: cuttle writes to a file, stdout or stderr (log.file)'],
    ],
  ];
  it.each(rows)('%s', (_name, text, expected, files = {}) => {
    const r = run(text, files);
    expect(r.issues).toEqual([]);
    expect(r.warnings).toEqual(expected);
    expect(r.imported).not.toBeNull();
  });
});

import {
  analyzeSquid,
  compilePolicy,
  importSquid,
  loadConfig,
  type SquidFiles,
  tokenize,
} from '@cuttle/shared';
import { describe, expect, it } from 'vitest';

const P = 'acl p port 80 443\nacl s port 443\nhttp_access deny !p\nhttp_access deny CONNECT !s\n';

function files(map: Record<string, string>): SquidFiles {
  return {
    resolve: (p) => p,
    glob: (p) => {
      const re = new RegExp(`^${p.replaceAll('.', '\\.').replaceAll('*', '[^/]*')}$`);
      return Object.keys(map)
        .filter((f) => re.test(f))
        .sort();
    },
    read: (p) => map[p] ?? null,
  };
}

const decide = (text: string, method: string, host: string, port: number, client = '10.1.2.3') =>
  compilePolicy(loadConfig(importSquid(text, 's.conf').yamlText, 'out.yaml')).decide({
    client: { address: client },
    method,
    host,
    port,
  });

describe('reading squid.conf', () => {
  it('a token starting with # ends the line; one inside a token does not', () => {
    expect(tokenize('acl localnet src 10.0.0.0/8 # RFC 1918')).toEqual([
      'acl',
      'localnet',
      'src',
      '10.0.0.0/8',
    ]);
    expect(tokenize('acl p port 80#1')).toEqual(['acl', 'p', 'port', '80#1']);
    expect(tokenize('http_port 3128\t#tab')).toEqual(['http_port', '3128']);
  });

  it('include reads matching files in sorted order, and list files one value per line', () => {
    const r = importSquid(`${P}include /c/*.conf\nhttp_access deny all\n`, 's.conf', {
      files: files({
        '/c/b.conf': 'http_access allow lan d\n',
        '/c/a.conf': 'acl lan src 10.0.0.0/8\nacl d dstdomain "/c/list"\n',
        '/c/list': '# names\n\n  a.test  \n.b.test # and subdomains\n',
      }),
    });
    expect(r.config.allow).toEqual(['a.test', '.b.test']);
    expect(r.config.clients).toEqual(['10.0.0.0/8']);
  });
});

describe('mapping', () => {
  it('src ranges become CIDR blocks, the netmask form a prefix', () => {
    const r = importSquid(
      `${P}acl lan src 0.0.0.1-0.255.255.255 10.0.0.0/255.0.0.0\nacl d dstdomain a.test\nhttp_access allow lan d\n`,
      's.conf',
    );
    expect(r.config.clients).toEqual([
      '0.0.0.1/32',
      '0.0.0.2/31',
      '0.0.0.4/30',
      ...Array.from(
        { length: 21 },
        (_, i) =>
          `0.${i < 5 ? `0.0.${2 ** (i + 3)}` : i < 13 ? `0.${2 ** (i - 5)}.0` : `${2 ** (i - 13)}.0.0`}/${29 - i}`,
      ),
      '10.0.0.0/8',
    ]);
  });

  it.each([
    ['^api\\.x\\.test$', 'api.x.test'],
    ['(^|\\.)x\\.test$', '.x.test'],
    ['^(.*\\.)?x\\.test$', '.x.test'],
    ['\\.x\\.test$', '**.x.test'],
    ['^[^.]+\\.x\\.test$', '*.x.test'],
    ['^API\\.X\\.test$', 'api.x.test'],
  ])('dstdom_regex -i %s -> %s', (regex, pattern) => {
    const r = importSquid(
      `${P}acl lan src 10.0.0.0/8\nacl d dstdom_regex -i ${regex}\nhttp_access allow lan d\n`,
      's.conf',
    );
    expect(r.config.allow).toEqual([pattern]);
  });

  it('dstdom_regex without -i and an upper-case letter has no translation', () => {
    expect(analyzeSquid(`${P}acl d dstdom_regex ^A\\.test$\n`, 's.conf').issues).toHaveLength(1);
  });

  it('built-ins: an identical redefinition changes nothing, manager never matches, to_localhost denies IP literals', () => {
    const text = `${P}acl localhost src 127.0.0.1/32 ::1\nacl CONNECT method CONNECT\nacl manager proto cache_object\nhttp_access allow localhost manager\nhttp_access deny manager\nhttp_access deny to_localhost\nhttp_access allow localhost\nhttp_access deny all\n`;
    const r = importSquid(text, 's.conf');
    expect(r.yamlText).toContain("Squid's `manager` ACL matches cache-manager URLs");
    expect(r.config.rules?.map((x) => x.name)).toEqual([
      's.conf:3 http_access deny !p',
      's.conf:4 http_access deny CONNECT !s',
      's.conf:10 http_access deny to_localhost',
      's.conf:11 http_access allow localhost',
      's.conf:12 http_access deny all',
      's.conf: implicit final http_access allow',
    ]);
    expect(decide(text, 'GET', '127.0.0.2', 80, '127.0.0.1').rule).toBe(
      's.conf:10 http_access deny to_localhost',
    );
    expect(decide(text, 'GET', 'a.test', 80, '::1').rule).toBe('s.conf:11 http_access allow localhost');
    expect(decide(text, 'GET', 'a.test', 80, '10.0.0.1').rule).toBe('s.conf:12 http_access deny all');
  });

  it('a policy that allows every port imports as "1-65535"', () => {
    const text = 'acl lan src 10.0.0.0/8\nhttp_access allow lan\n';
    const r = importSquid(text, 's.conf');
    expect([r.config.ports, r.config.connect_ports]).toEqual([['1-65535'], ['1-65535']]);
    expect(decide(text, 'CONNECT', 'a.test', 22).verdict).toBe('allow');
  });

  it('ssl_bump peek/splice/terminate becomes a CONNECT rule on the SNI names, first', () => {
    const text = `acl step1 at_step SslBump1\nacl sni ssl::server_name .ok.test\nacl lan src 10.0.0.0/8\n${P}http_access allow lan\nhttp_access deny all\nssl_bump peek step1\nssl_bump splice sni\nssl_bump terminate all\nhttp_port 3128 ssl-bump cert=/etc/squid/ca.pem generate-host-certificates=on\n`;
    const r = importSquid(text, 's.conf');
    expect(r.config.rules?.[0]).toEqual({
      name: 's.conf:11 ssl_bump splice sni (SNI allowlist)',
      action: 'deny',
      methods: ['CONNECT'],
      not_domains: ['.ok.test'],
    });
    expect(r.yamlText).toContain('connect.require_sni');
    expect(decide(text, 'CONNECT', 'a.ok.test', 443).verdict).toBe('allow');
    expect(decide(text, 'CONNECT', 'other.test', 443).rule).toBe(
      's.conf:11 ssl_bump splice sni (SNI allowlist)',
    );
    expect(decide(text, 'GET', 'other.test', 80).verdict).toBe('allow');
  });

  it('settings: resolvers, headers, timeouts, limits, the log and the parent', () => {
    const r = importSquid(
      `${P}acl lan src 10.0.0.0/8\nhttp_access allow lan\ndns_nameservers 127.0.0.53 ::1\nvia on\nforwarded_for delete\nconnect_timeout 30 seconds\nread_timeout 2 minutes\nrequest_timeout 500 ms\nclient_idle_pconn_timeout 1 minute\ndns_timeout 3 seconds\npositive_dns_ttl 1 hour\nrequest_header_max_size 32 KB\nclient_ip_max_connections 64\naccess_log daemon:/var/log/squid/access.log squid\ncache_peer parent.test parent 3128 0 no-query default login=u:p%w\nnever_direct allow all\n`,
      's.conf',
    );
    expect(r.config).toMatchObject({
      dns: { servers: ['127.0.0.53', '::1'], max_ttl_s: 3600 },
      forwarded: { via: true, x_forwarded_for: false },
      timeouts: {
        upstream_connect_ms: 30_000,
        upstream_response_ms: 120_000,
        header_ms: 500,
        keepalive_ms: 60_000,
        dns_ms: 3000,
      },
      limits: { max_header_bytes: 32 * 1024, max_connections_per_client: 64 },
      log: { file: '/var/log/squid/access.log', format: 'squid' },
      upstream: 'http://u:p%25w@parent.test:3128',
    });
    loadConfig(r.yamlText, 'out.yaml');
  });

  it('the report says what became of every line', () => {
    const a = analyzeSquid(
      `${P}acl lan src 10.0.0.0/8\nhttp_access allow lan\nhttp_access deny !all\ncoredump_dir /x\nfoo 1\n`,
      's.conf',
    );
    expect(a.report.map((e) => [e.line, e.outcome, e.detail])).toEqual([
      [1, 'mapped', 'acl p (port): 2 values'],
      [2, 'mapped', 'acl s (port): 1 value'],
      [3, 'mapped', 'rules (first match)'],
      [4, 'mapped', 'rules (first match)'],
      [5, 'mapped', 'acl lan (src): 1 value'],
      [6, 'mapped', 'rules (first match)'],
      [7, 'mapped', 'rules (first match)'],
      [8, 'ignored', 'caching or cache hierarchy: cuttle caches nothing'],
      [9, 'refused', "unknown directive 'foo' (Squid 5.7 does not know it either)"],
    ]);
    const ok = analyzeSquid(
      `${P}acl lan src 10.0.0.0/8\nhttp_access allow lan\nhttp_access deny !all\n`,
      's.conf',
    );
    expect(ok.report.slice(5).map((e) => e.detail)).toEqual([
      'rules: "s.conf:6 http_access allow lan"',
      'dropped: can never match in cuttle (!all, manager, or port/method ACLs with nothing in common)',
    ]);
  });

  it('the simple keys carry the squid.conf lines they came from as comments', () => {
    const r = importSquid(
      `${P}acl lan src 10.0.0.0/8\nacl d dstdomain a.test\nhttp_access allow lan d\n`,
      's.conf',
    );
    expect(r.yamlText).toContain('# from s.conf:3 http_access deny !p\nports: [ 80, 443 ]');
    expect(r.yamlText).toContain('# from s.conf:7 http_access allow lan d\nallow:');
  });
});

describe('file access errors', () => {
  it('include without file access', () => {
    expect(analyzeSquid(`${P}include /etc/squid/conf.d/*.conf\n`, 's.conf').issues).toEqual([
      { file: 's.conf', line: 5, message: 'include: this import has no access to files' },
    ]);
  });
  it('an included file that vanished between glob and read', () => {
    const vanished: SquidFiles = { resolve: (p) => p, glob: () => ['/c/a.conf'], read: () => null };
    expect(analyzeSquid(`${P}include /c/*.conf\n`, 's.conf', { files: vanished }).issues).toEqual([
      { file: 's.conf', line: 5, message: 'include /c/a.conf: no such file' },
    ]);
  });
});

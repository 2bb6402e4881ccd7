import * as dgram from 'node:dgram';
import {
  type Canary,
  type Origin,
  type ProxyProcess,
  sendRaw,
  startCanary,
  startOrigin,
  startProxy,
} from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** A tiny authoritative DNS server on loopback UDP: A/AAAA answers from a table, NXDOMAIN otherwise. */
interface DnsStub {
  port: number;
  queries: string[];
  zone: Map<string, { a?: string[]; aaaa?: string[]; ttl: number; drop?: boolean }>;
  close(): Promise<void>;
}

function v6Bytes(text: string): Buffer {
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  return out;
}

async function startDnsStub(): Promise<DnsStub> {
  const sock = dgram.createSocket('udp4');
  const stub: DnsStub = {
    port: 0,
    queries: [],
    zone: new Map(),
    close: () => new Promise((r) => sock.close(() => r())),
  };
  sock.on('message', (msg, rinfo) => {
    let off = 12;
    const labels: string[] = [];
    while (msg[off] !== 0) {
      const len = msg[off] as number;
      labels.push(msg.subarray(off + 1, off + 1 + len).toString('ascii'));
      off += len + 1;
    }
    const qEnd = off + 5;
    const qtype = msg.readUInt16BE(off + 1);
    const name = labels.join('.').toLowerCase();
    stub.queries.push(`${name}/${qtype === 1 ? 'A' : qtype === 28 ? 'AAAA' : qtype}`);
    const entry = stub.zone.get(name);
    if (entry?.drop) return;
    const addrs =
      entry === undefined ? [] : qtype === 1 ? (entry.a ?? []) : qtype === 28 ? (entry.aaaa ?? []) : [];
    const header = Buffer.alloc(12);
    header.writeUInt16BE(msg.readUInt16BE(0), 0);
    header.writeUInt16BE(0x8180 | (entry === undefined ? 3 : 0), 2); // response, RD+RA, NXDOMAIN when unknown
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(addrs.length, 6);
    const answers = addrs.map((a) => {
      const rdata = qtype === 1 ? Buffer.from(a.split('.').map(Number)) : v6Bytes(a);
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(qtype, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(entry?.ttl ?? 60, 6);
      rr.writeUInt16BE(rdata.length, 10);
      return Buffer.concat([rr, rdata]);
    });
    sock.send(Buffer.concat([header, msg.subarray(12, qEnd), ...answers]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  stub.port = sock.address().port;
  return stub;
}

describe('dns: resolve once, check every answer, connect only to checked addresses', () => {
  let origin: Origin;
  let canary: Canary;
  let dns: DnsStub;
  let proxy: ProxyProcess;
  const get = (host: string, port: number, path = '/'): ReturnType<typeof sendRaw> =>
    sendRaw(proxy.port, `GET http://${host}:${port}${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);

  beforeAll(async () => {
    origin = await startOrigin();
    canary = await startCanary('127.0.0.2', origin.port).catch(() => startCanary('127.0.0.2'));
    dns = await startDnsStub();
    dns.zone.set('stub.test', { a: ['127.0.0.1'], ttl: 3600 });
    dns.zone.set('rebind.test', { a: ['127.0.0.1'], ttl: 3600 });
    dns.zone.set('mapped.test', { aaaa: ['::ffff:127.0.0.2'], ttl: 60 });
    dns.zone.set('nat64.test', { aaaa: ['64:ff9b::7f00:2'], ttl: 60 });
    dns.zone.set('mixed.test', { a: ['127.0.0.1', '127.0.0.2'], ttl: 60 });
    dns.zone.set('slow.test', { ttl: 60, drop: true });
    proxy = await startProxy({
      ports: [origin.port, canary.port],
      allow: ['.test'],
      dns: {
        servers: [`127.0.0.1:${dns.port}`],
        max_ttl_s: 1,
        hosts: {
          'static.test': ['127.0.0.1'],
          'priv.test': ['127.0.0.2'],
          'meta.test': ['169.254.169.254'],
          'static-mapped.test': ['::ffff:127.0.0.2'],
          'static-nat64.test': ['64:ff9b::127.0.0.2'],
          'static-mixed.test': ['127.0.0.1', '127.0.0.2'],
          'refuse-first.test': ['::1', '127.0.0.1'],
        },
      },
      timeouts: { dns_ms: 500 },
      destinations: { allow_ranges: ['127.0.0.1/32', '::1/128'] },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
    await canary?.close();
    await dns?.close();
  });

  it('connects to a static answer exempted by allow_ranges', async () => {
    expect((await get('static.test', origin.port)).status).toBe(200);
  });

  it.each([
    ['a static private answer', 'priv.test'],
    ['the cloud metadata address', 'meta.test'],
    ['a static v4-mapped answer', 'static-mapped.test'],
    ['a static NAT64 answer', 'static-nat64.test'],
    ['static answers mixing allowed and private', 'static-mixed.test'],
    ['a resolver AAAA answer that is v4-mapped', 'mapped.test'],
    ['a resolver AAAA answer that is NAT64', 'nat64.test'],
    ['resolver answers mixing allowed and private', 'mixed.test'],
  ])('denies %s with private_address and logs every answer', async (_name, host) => {
    const res = await get(host, canary.port, `/${host}`);
    expect(res.status).toBe(403);
    expect(res.headers['x-cuttle-deny']).toBe('private_address');
    await expect
      .poll(() => proxy.accessLog().find((r) => r.path === `/${host}`))
      .toMatchObject({ reason: 'private_address', verdict: 'deny' });
    const rec = proxy.accessLog().find((r) => r.path === `/${host}`);
    expect(rec?.answers).toEqual(expect.arrayContaining([expect.any(String)]));
  });

  it('asks the resolver once per TTL (capped by max_ttl_s) and re-checks the new answer', async () => {
    expect((await get('rebind.test', origin.port, '/r1')).status).toBe(200);
    expect((await get('rebind.test', origin.port, '/r2')).status).toBe(200);
    expect(dns.queries.filter((q) => q === 'rebind.test/A')).toHaveLength(1);
    dns.zone.set('rebind.test', { a: ['127.0.0.2'], ttl: 3600 });
    // TTL 3600 is capped at max_ttl_s = 1: the name is asked again and the new, private answer is refused.
    await expect
      .poll(async () => (await get('rebind.test', canary.port, '/r3')).status, {
        timeout: 5000,
        interval: 300,
      })
      .toBe(403);
  });

  it('answers 502 saying DNS failed for an unknown name', async () => {
    const res = await get('unknown.test', origin.port);
    expect(res.status).toBe(502);
    expect(res.body).toMatch(/DNS/);
    expect(res.headers['x-cuttle-error']).toBe('dns_failure');
  });

  it('answers 502 when the resolver does not answer in time', async () => {
    const res = await get('slow.test', origin.port);
    expect(res.status).toBe(502);
    expect(res.body).toMatch(/DNS .*timed out/);
  });

  it('tries the next checked address when one refuses', async () => {
    const before = origin.requests.length;
    const res = await get('refuse-first.test', origin.port, '/next');
    expect(res.status).toBe(200);
    expect(origin.requests.length).toBe(before + 1);
  });

  it('answers 502 when every checked address refuses', async () => {
    const closed = await startOrigin();
    const port = closed.port;
    await closed.close();
    const p2 = await startProxy({
      ports: [port],
      allow: ['static.test'],
      dns: { hosts: { 'static.test': ['127.0.0.1'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
    });
    try {
      const res = await sendRaw(
        p2.port,
        `GET http://static.test:${port}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      expect(res.status).toBe(502);
      expect(res.headers['x-cuttle-error']).toBe('upstream_refused');
    } finally {
      await p2.close();
    }
  });

  it('never connected to the canary', () => {
    expect(canary.connections).toBe(0);
  });
});

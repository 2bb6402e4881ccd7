import { AddressRangeSet, isGuardedAddress } from '@cuttle/shared';
import { describe, expect, it } from 'vitest';

// [address, guarded, category, embedding]
const TABLE: (readonly [string, boolean, string, string?])[] = [
  ['8.8.8.8', false, 'public'],
  ['1.1.1.1', false, 'public'],
  ['2606:4700::1111', false, 'public'],
  ['0.0.0.0', true, 'this_network'],
  ['0.1.2.3', true, 'this_network'],
  ['127.0.0.1', true, 'loopback'],
  ['127.255.255.254', true, 'loopback'],
  ['10.1.2.3', true, 'private'],
  ['172.16.0.1', true, 'private'],
  ['172.31.255.255', true, 'private'],
  ['172.32.0.1', false, 'public'],
  ['192.168.1.1', true, 'private'],
  ['100.64.0.1', true, 'cgnat'],
  ['100.127.255.255', true, 'cgnat'],
  ['100.128.0.1', false, 'public'],
  ['169.254.169.254', true, 'link_local'],
  ['192.0.0.8', true, 'ietf_protocol'],
  ['192.0.2.1', true, 'documentation'],
  ['198.51.100.1', true, 'documentation'],
  ['203.0.113.1', true, 'documentation'],
  ['198.18.0.1', true, 'benchmarking'],
  ['198.19.255.255', true, 'benchmarking'],
  ['192.88.99.1', true, 'relay_anycast'],
  ['224.0.0.1', true, 'multicast'],
  ['239.255.255.250', true, 'multicast'],
  ['240.0.0.1', true, 'reserved'],
  ['255.255.255.255', true, 'broadcast'],
  ['::', true, 'unspecified'],
  ['::1', true, 'loopback'],
  ['fe80::1', true, 'link_local'],
  ['fe80::1%eth0', true, 'link_local'],
  ['febf::1', true, 'link_local'],
  ['fec0::1', true, 'site_local'],
  ['fc00::1', true, 'unique_local'],
  ['fd12:3456::1', true, 'unique_local'],
  ['ff02::1', true, 'multicast'],
  ['100::1', true, 'discard'],
  ['2001:db8::1', true, 'documentation'],
  ['2001:2::1', true, 'benchmarking'],
  ['2001:10::1', true, 'orchid'],
  ['4000::1', true, 'reserved'],
  ['::1:0:0:0', true, 'reserved'],
  // Embeddings: the IPv4 inside decides.
  ['::ffff:127.0.0.1', true, 'loopback', 'ipv4_mapped'],
  ['::ffff:7f00:1', true, 'loopback', 'ipv4_mapped'],
  ['::ffff:169.254.169.254', true, 'link_local', 'ipv4_mapped'],
  ['::ffff:0.0.0.0', true, 'this_network', 'ipv4_mapped'],
  ['::ffff:8.8.8.8', false, 'public'],
  ['::127.0.0.1', true, 'loopback', 'ipv4_compatible'],
  ['::10.0.0.1', true, 'private', 'ipv4_compatible'],
  ['::8.8.8.8', false, 'public'],
  ['64:ff9b::127.0.0.1', true, 'loopback', 'nat64'],
  ['64:ff9b::a9fe:a9fe', true, 'link_local', 'nat64'],
  ['64:ff9b::808:808', false, 'public'],
  ['64:ff9b:1::808:808', true, 'nat64_local'],
  ['2002:7f00:1::1', true, 'loopback', '6to4'],
  ['2002:a00:1::', true, 'private', '6to4'],
  ['2002:808:808::1', false, 'public'],
  // Teredo: client 127.0.0.1 is stored inverted (0x80fffffe); server 65.54.227.120.
  ['2001:0:4136:e378:8000:63bf:80ff:fffe', true, 'loopback', 'teredo'],
  ['2001:0:4136:e378:8000:63bf:f5ff:fffe', true, 'private', 'teredo'], // client 10.0.0.1
  ['2001:0:a00:1:8000:63bf:f7f7:f7f7', true, 'private', 'teredo'], // server 10.0.0.1
  ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', false, 'public'], // client 8.8.8.8
  ['not an address', true, 'invalid'],
  ['127.1', true, 'invalid'],
];

describe('isGuardedAddress', () => {
  it.each(TABLE)('%s -> guarded %s (%s %s)', (addr, guarded, category, embedding) => {
    const r = isGuardedAddress(addr as string);
    expect(r.guarded).toBe(guarded);
    expect(r.category).toBe(category);
    expect(r.embedding).toBe(embedding);
  });

  it('destinations.allow_ranges exempts an address, also in its IPv4-mapped form', () => {
    const allow = AddressRangeSet.parse(['127.0.0.1/32', 'fd00::/8']);
    expect(isGuardedAddress('127.0.0.1', allow)).toMatchObject({
      guarded: false,
      exempt: true,
      category: 'loopback',
    });
    expect(isGuardedAddress('::ffff:127.0.0.1', allow)).toMatchObject({ guarded: false, exempt: true });
    expect(isGuardedAddress('fd00::5', allow)).toMatchObject({ guarded: false, exempt: true });
    expect(isGuardedAddress('127.0.0.2', allow)).toMatchObject({ guarded: true, category: 'loopback' });
    expect(isGuardedAddress('::1', allow)).toMatchObject({ guarded: true });
    expect(isGuardedAddress('64:ff9b::127.0.0.1', allow)).toMatchObject({
      guarded: true,
      embedding: 'nat64',
    });
  });
});

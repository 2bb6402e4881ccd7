/**
 * The whole verdict comes from `decide`: the listener's zone rule, unix listeners, the method gate, the
 * per-container grants and report mode are inputs and outputs of the one function, not wrappers around it.
 * `would_deny` is a variant of Decision the policy itself returns.
 */
import {
  type ClientIdentity,
  type ConfigInput,
  compilePolicy,
  configSchema,
  type DecisionInput,
  type ListenerFacts,
} from '@cuttle/shared';
import { describe, expect, it } from 'vitest';

const policyOf = (input: Omit<ConfigInput, 'listen'>) =>
  compilePolicy(configSchema.parse({ listen: ['lxdbr0:3128'], ...input }));

const BASE = { clients: ['fe80::/10'], allow: ['.ok.test'] };
const LXD = { address: 'fe80::2', zone: 'lxdbr0' };
const ZONED: ListenerFacts = { zone: 'lxdbr0' };
const UNIX: ListenerFacts = { unix: true };
const BLOG: ClientIdentity = { name: 'blog', authoritative: true };
const SPOOFABLE: ClientIdentity = { name: 'blog', authoritative: false };

const input = (over: Partial<DecisionInput>): DecisionInput => ({
  client: LXD,
  method: 'GET',
  host: 'a.ok.test',
  port: 80,
  listener: ZONED,
  ...over,
});

describe('decide gives the whole verdict', () => {
  const rows: {
    name: string;
    config?: Omit<ConfigInput, 'listen'>;
    input: Partial<DecisionInput>;
    want: [string, string, string | null];
  }[] = [
    { name: 'allowlisted on its own zone', input: {}, want: ['allow', 'allowlisted', '.ok.test'] },
    {
      name: 'zone rule: a client from another interface is denied, whatever the lists say',
      input: { client: { address: 'fe80::2', zone: 'eth9' } },
      want: ['deny', 'client_denied', null],
    },
    {
      name: 'zone rule applies to CONNECT too',
      input: { client: { address: 'fe80::2', zone: 'eth9' }, method: 'CONNECT', port: 443 },
      want: ['deny', 'client_denied', null],
    },
    {
      name: 'zone rule beats a method the policy would deny anyway',
      input: { client: { address: 'fe80::2', zone: 'eth9' }, method: 'TRACE' },
      want: ['deny', 'client_denied', null],
    },
    {
      name: 'an unzoned listener has no zone rule',
      input: { client: { address: 'fe80::2', zone: 'eth9' }, listener: {} },
      want: ['allow', 'allowlisted', '.ok.test'],
    },
    {
      name: 'a unix listener skips the client checks (its peer is a client by definition)',
      input: { client: { address: 'unix:blog' }, listener: UNIX },
      want: ['allow', 'allowlisted', '.ok.test'],
    },
    { name: 'method gate', input: { method: 'TRACE' }, want: ['deny', 'method_denied', null] },
    {
      name: 'a container grant, for an authoritative identity',
      config: { ...BASE, containers: { blog: { allow: ['extra.test'] } } },
      input: { host: 'extra.test', identity: BLOG },
      want: ['allow', 'allowlisted', 'containers.blog: extra.test'],
    },
    {
      name: 'no grant for an identity that could be spoofed',
      config: { ...BASE, containers: { blog: { allow: ['extra.test'] } } },
      input: { host: 'extra.test', identity: SPOOFABLE },
      want: ['deny', 'not_allowlisted', null],
    },
    {
      name: "no grant from another container's list",
      config: { ...BASE, containers: { shop: { allow: ['extra.test'] } } },
      input: { host: 'extra.test', identity: BLOG },
      want: ['deny', 'not_allowlisted', null],
    },
    {
      name: 'a grant through the unix socket that is the identity',
      config: { ...BASE, containers: { blog: { allow: ['extra.test'] } } },
      input: { client: { address: 'unix:blog' }, listener: UNIX, host: 'extra.test', identity: BLOG },
      want: ['allow', 'allowlisted', 'containers.blog: extra.test'],
    },
    {
      name: 'report mode: a would-be deny is would_deny, from decide itself',
      config: { ...BASE, mode: 'report' },
      input: { host: 'elsewhere.test' },
      want: ['would_deny', 'not_allowlisted', null],
    },
    {
      name: 'report mode never loosens the zone rule',
      config: { ...BASE, mode: 'report' },
      input: { client: { address: 'fe80::2', zone: 'eth9' }, host: 'elsewhere.test' },
      want: ['deny', 'client_denied', null],
    },
    {
      name: 'report mode: a grant still allows outright',
      config: { ...BASE, mode: 'report', containers: { blog: { allow: ['extra.test'] } } },
      input: { host: 'extra.test', identity: BLOG },
      want: ['allow', 'allowlisted', 'containers.blog: extra.test'],
    },
    {
      name: 'a report rule under an enforcing policy: would_deny when the rest allows',
      config: { ...BASE, rules: [{ name: 'watch', action: 'deny', domains: ['a.ok.test'], mode: 'report' }] },
      input: {},
      want: ['would_deny', 'rule_denied', 'watch'],
    },
    {
      name: 'a report rule under an enforcing policy: deny when the rest denies',
      config: { ...BASE, rules: [{ name: 'watch', action: 'deny', domains: ['x.test'], mode: 'report' }] },
      input: { host: 'x.test' },
      want: ['deny', 'not_allowlisted', null],
    },
  ];

  it.each(rows)('$name', ({ config, input: over, want }) => {
    const d = policyOf(config ?? BASE).decide(input(over));
    expect([d.verdict, d.reason, d.rule]).toEqual(want);
  });

  it('a container list with a bad pattern is a compile issue at its key', () => {
    const config = configSchema.parse({ listen: ['[::1]:1'], containers: { blog: { allow: ['ok.test'] } } });
    const bad = { ...config, containers: { blog: { allow: ['a..b'] } } };
    expect(() => compilePolicy(bad)).toThrow(/containers\.blog\.allow\.0/);
  });
});

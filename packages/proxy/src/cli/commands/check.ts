/**
 * `cuttle check --config FILE [--client ADDR] [--json] [METHOD] TARGET`: what the policy alone decides for one
 * request (no DNS, nothing opened), with the verdict, the reason and the rule. TARGET is an absolute URL, or
 * host:port after CONNECT. Without --client the client rules are skipped, and the output says so.
 */

import { parseArgs } from 'node:util';
import {
  type ClientAddress,
  compilePolicy,
  type DecisionInput,
  parseIpAddress,
  parseProxyTarget,
} from '@cuttle/shared';
import { EXIT, UsageError } from '../../core/exit-codes.js';
import { loadConfigFile } from '../../lifecycle/load-config-file.js';
import { parseOrUsage } from '../args.js';
import type { Command } from '../command.js';

const HELP = `usage: cuttle check --config FILE [--client ADDR] [--json] URL
       cuttle check --config FILE [--client ADDR] [--json] CONNECT HOST:PORT
       cuttle check --config FILE [--client ADDR] [--json] METHOD URL

Prints what the policy in FILE decides for one request: verdict, reason and the rule that matched. Only the policy
is asked: no DNS lookup (the private-address guard, which needs the resolved address, is not applied).

  -c, --config FILE   the config
  --client ADDR       the client address, with its zone for link-local ones (fe80::2%lxdbr0);
                      without it the client rules are skipped
  --json              one JSON object instead of text
  -h, --help          this text

exit: 0 allowed, 1 denied, 2 bad usage or config, 3 FILE unreadable
`;

const METHOD = /^[A-Z][A-Z0-9_-]*$/;

function parseClient(text: string): ClientAddress {
  const addr = parseIpAddress(text);
  if (addr === null)
    throw new UsageError(`--client '${text}' is not an IP address (fe80::2%lxdbr0, ::1, 10.0.0.2)`);
  const pct = text.indexOf('%');
  if (pct === -1) return { address: text };
  const zone = text.slice(pct + 1).replace(/^25(?=.)/, '');
  return { address: text.slice(0, pct).replace(/^\[/, ''), zone: zone.replace(/\]$/, '') };
}

export const checkCommand: Command = {
  name: 'check',
  summary: 'ask the policy what it decides for one request (no traffic, no DNS)',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseOrUsage(() =>
      parseArgs({
        args: argv,
        options: {
          config: { type: 'string', short: 'c' },
          client: { type: 'string' },
          json: { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        },
        allowPositionals: true,
        strict: true,
      }),
    );
    if (values.help) {
      process.stdout.write(HELP);
      return EXIT.OK;
    }
    if (values.config === undefined) throw new UsageError('--config FILE is required');
    if (positionals.length === 0) throw new UsageError('a URL (or CONNECT HOST:PORT) is required');
    if (positionals.length > 2) throw new UsageError(`unexpected argument '${positionals[2]}'`);
    const [method, target] =
      positionals.length === 2 ? (positionals as [string, string]) : ['GET', positionals[0] as string];
    if (!METHOD.test(method)) throw new UsageError(`'${method}' is not a method (GET, CONNECT, ...)`);
    const client = values.client === undefined ? undefined : parseClient(values.client);
    // The daemon's policy, report mode included: a would-be deny shows as `would_deny` (exit 0: it goes through).
    const policy = compilePolicy((await loadConfigFile(values.config)).config);

    const parsed = parseProxyTarget(method, target, { allowNonAscii: true });
    const clientText = values.client ?? null;
    let result: Record<string, unknown>;
    if (!parsed.ok) {
      result = { verdict: 'deny', reason: 'bad_target', rule: null, detail: parsed.detail, method, target };
    } else {
      const input: DecisionInput = { client, method, host: parsed.host, port: parsed.port };
      const d = policy.decide(input);
      result = {
        verdict: d.verdict,
        reason: d.reason,
        rule: d.rule,
        method,
        target,
        host: d.host,
        hostKind: d.hostKind,
        port: parsed.port,
      };
    }
    result.client = clientText;
    result.clientChecked = clientText !== null;

    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      const lines = [
        `verdict: ${result.verdict}`,
        `reason:  ${result.reason}${result.detail === undefined ? '' : ` (${result.detail})`}`,
        `rule:    ${result.rule ?? '-'}`,
        `request: ${method} ${target}${result.host === undefined ? '' : ` -> ${result.hostKind} ${result.host} port ${result.port}`}`,
        `client:  ${clientText ?? 'not given: client rules were skipped'}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return result.verdict === 'deny' ? EXIT.NO : EXIT.OK;
  },
};

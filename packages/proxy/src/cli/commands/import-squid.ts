/**
 * `cuttle import-squid FILE [--listen ADDR]`: prints the cuttle YAML equivalent to a squid.conf on stdout, and
 * nothing else there (so `> cuttle.yaml` works). The hosts file a `hosts_file` line names is read here (a relative
 * path is taken from the squid.conf's directory) and becomes `dns.hosts`. The output is loaded back before it is
 * printed, so what is printed validates.
 */
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { importSquid, loadConfig, parseHostsFile } from '@cuttle/shared';
import { EXIT, UsageError } from '../../core/exit-codes.js';
import { readText } from '../../lifecycle/read-text.js';
import { parseOrUsage } from '../args.js';
import type { Command } from '../command.js';

const HELP = `usage: cuttle import-squid FILE [--listen ADDR]

Prints the cuttle config (YAML) equivalent to the squid.conf FILE. Supported: acl NAME port|src|dstdomain [-n]|
dst|method, http_access allow|deny with ! and several ACLs (first match wins, Squid's implicit final rule),
http_port, cache deny all, hosts_file, comments, blank lines and \\ continuations. Anything else is refused with
FILE:LINE. A bare 'http_port PORT' (Squid: every address) becomes lxdbr0:PORT unless --listen says otherwise.

  --listen ADDR   where a bare http_port listens: a full address ([fe80::1%lxdbr0]:3128) or a host or
                  interface the port is added to (lxdbr0, [::1], 127.0.0.1)
  -h, --help      this text

exit: 0 converted, 2 unsupported squid.conf, missing file or bad usage, 3 a file unreadable
`;

export const importSquidCommand: Command = {
  name: 'import-squid',
  summary: 'print the cuttle config equivalent to a squid.conf',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseOrUsage(() =>
      parseArgs({
        args: argv,
        options: { listen: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
        allowPositionals: true,
        strict: true,
      }),
    );
    if (values.help) {
      process.stdout.write(HELP);
      return EXIT.OK;
    }
    const [file, extra] = positionals;
    if (file === undefined) throw new UsageError('a squid.conf FILE is required');
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
    const text = await readText(file, 'squid.conf');
    const options = { listen: values.listen };
    let imported = importSquid(text, file, options);
    if (imported.hostsFile !== undefined) {
      const path = resolve(dirname(file), imported.hostsFile);
      const hosts = parseHostsFile(await readText(path, 'hosts_file'), path);
      imported = importSquid(text, file, { ...options, hosts });
    }
    loadConfig(imported.yamlText, `${file} (imported)`);
    process.stdout.write(imported.yamlText);
    return EXIT.OK;
  },
};

/**
 * `cuttle import-squid FILE [--listen ADDR] [--root DIR] [--strict] [--report | --host-yaml]`: prints the cuttle
 * YAML equivalent to a squid.conf on stdout, and nothing else there (so `> cuttle.yaml` works); warnings go to
 * stderr, each with FILE:LINE. Included files, list files and the hosts file are read from disk (absolute paths
 * under `--root`). The output is loaded back before it is printed, so what is printed validates.
 */
import { parseArgs } from 'node:util';
import {
  analyzeSquid,
  formatSquidIssue,
  loadConfig,
  renderDirectiveTable,
  renderHostYaml,
  renderReport,
  SquidImportError,
} from '@cuttle/shared';
import { EXIT, UsageError } from '../../core/exit-codes.js';
import { readText } from '../../lifecycle/read-text.js';
import { parseOrUsage } from '../args.js';
import type { Command } from '../command.js';
import { diskSquidFiles } from '../squid-files.js';

const HELP = `usage: cuttle import-squid FILE [--listen ADDR] [--root DIR] [--strict] [--report | --host-yaml]
       cuttle import-squid --directive-table

Prints the cuttle config (YAML) equivalent to the squid.conf FILE, reading it as Squid 5.7 does (comments,
continuations, include, "/list/files", hosts_file). Directives without meaning for cuttle (cache_dir,
refresh_pattern, ...) are warnings on stderr; lines that change who may reach what and have no cuttle form are
refused with FILE:LINE. Every directive's class is in docs/squid-import.md. A bare 'http_port PORT' (Squid: every
address) becomes lxdbr0:PORT unless --listen says otherwise.

  --listen ADDR   where a bare http_port listens: a full address ([fe80::1%lxdbr0]:3128) or a host or
                  interface the port is added to (lxdbr0, [::1], 127.0.0.1)
  --root DIR      take absolute paths (include, list files, hosts_file) under DIR: a copy of another host's files
  --strict        directives without meaning for cuttle are errors, not warnings
  --report        print every directive line with what became of it (mapped, ignored, refused) instead of YAML
  --host-yaml     print the proxy.allow / proxy.settings fragment for cuttle-provision's host.yaml instead
  --directive-table  print the table of every Squid 5.7 directive and its class (docs/squid-import.md)
  -h, --help      this text

exit: 0 converted (--report: every line mapped or ignored), 2 refused lines, missing file or bad usage,
3 a file unreadable
`;

export const importSquidCommand: Command = {
  name: 'import-squid',
  summary: 'print the cuttle config equivalent to a squid.conf',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseOrUsage(() =>
      parseArgs({
        args: argv,
        options: {
          listen: { type: 'string' },
          root: { type: 'string' },
          strict: { type: 'boolean' },
          report: { type: 'boolean' },
          'host-yaml': { type: 'boolean' },
          'directive-table': { type: 'boolean' },
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
    if (values['directive-table']) {
      process.stdout.write(`${renderDirectiveTable()}\n`);
      return EXIT.OK;
    }
    const [file, extra] = positionals;
    if (file === undefined) throw new UsageError('a squid.conf FILE is required');
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
    if (values.report && values['host-yaml'])
      throw new UsageError('--report and --host-yaml exclude each other');
    const text = await readText(file, 'squid.conf');
    const a = analyzeSquid(text, file, {
      listen: values.listen,
      files: diskSquidFiles(file, values.root),
      strict: values.strict,
    });
    if (values.report) {
      process.stdout.write(renderReport(file, a));
      return a.imported === null ? EXIT.USAGE : EXIT.OK;
    }
    for (const w of a.warnings) process.stderr.write(`warning: ${formatSquidIssue(w)}\n`);
    if (a.imported === null) throw new SquidImportError(a.issues);
    loadConfig(a.imported.yamlText, `${file} (imported)`);
    process.stdout.write(values['host-yaml'] ? renderHostYaml(a.imported, file) : a.imported.yamlText);
    return EXIT.OK;
  },
};

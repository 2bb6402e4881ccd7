/**
 * squid.conf text -> directives, read the way Squid 5.7 reads it: blank lines and `#` comments (a token that
 * starts with `#` ends the line, so `http_port 3128 # note` is `http_port 3128`), `\` line continuations, and
 * `include PATTERN...` (glob(3), sorted, nested at most 16 deep; a pattern matching nothing is fatal in Squid and an
 * error here). Pure: files are reached through `SquidFiles`, which the caller implements (the CLI reads the disk,
 * resolving absolute paths under `--root` and relative ones from the squid.conf's directory).
 */
import type { SquidIssue } from '../errors.js';

/** How the importer reaches the files a squid.conf names. Paths returned are the ones shown in messages. */
export interface SquidFiles {
  /** A path as written in squid.conf -> the path to open (and to name in messages). */
  resolve(path: string): string;
  /** The files a pattern as written matches, resolved and sorted (no wildcards: the file, if it exists). */
  glob(pattern: string): string[];
  /** The text of a resolved path, or null when there is no such file. */
  read(resolved: string): string | null;
}

/** One directive: `acl safe_ports port 80` is {name: 'acl', args: ['safe_ports', 'port', '80'], file, line}. */
export interface SquidDirective {
  readonly name: string;
  readonly args: readonly string[];
  /** The file it was read from (the squid.conf, or an included file). */
  readonly file: string;
  /** 1-based line where the directive starts. */
  readonly line: number;
}

/** Squid's own limit on nested includes. */
const MAX_INCLUDE_DEPTH = 16;

/** The tokens of one logical line, up to a token that starts with `#`. */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  for (const t of line.trim().split(/\s+/)) {
    if (t === '') continue;
    if (t.startsWith('#')) break;
    out.push(t);
  }
  return out;
}

/**
 * Reads `text` (from `file`) into directives, following `include` through `files`. Problems (an include that
 * matches nothing, nesting too deep, a missing `files`) are pushed onto `issues` with their file and line.
 */
export function readSquidConf(
  text: string,
  file: string,
  files: SquidFiles | undefined,
  issues: SquidIssue[],
  depth = 0,
): SquidDirective[] {
  const out: SquidDirective[] = [];
  const lines = text.split(/\r?\n/);
  let pending = '';
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    if (pending === '') {
      start = i + 1;
      if (/^\s*(?:#|$)/.test(raw)) continue;
    }
    if (raw.endsWith('\\') && i < lines.length - 1) {
      pending += `${raw.slice(0, -1)} `;
      continue;
    }
    const full = pending + (raw.endsWith('\\') ? raw.slice(0, -1) : raw);
    pending = '';
    const [name, ...args] = tokenize(full);
    if (name === undefined) continue;
    if (name !== 'include') {
      out.push({ name, args, file, line: start });
      continue;
    }
    const issue = (message: string): void => void issues.push({ file, line: start, message });
    if (args.length === 0) issue('include needs a file or pattern');
    else if (files === undefined) issue('include: this import has no access to files');
    else if (depth + 1 >= MAX_INCLUDE_DEPTH)
      issue(`include nested more than ${MAX_INCLUDE_DEPTH} deep (Squid's limit)`);
    else {
      for (const pattern of args) {
        const matched = files.glob(pattern);
        if (matched.length === 0) {
          issue(`include ${pattern}: no such file (Squid stops: "Unable to find configuration file")`);
          continue;
        }
        for (const path of matched) {
          const included = files.read(path);
          if (included === null) issue(`include ${path}: no such file`);
          else out.push(...readSquidConf(included, path, files, issues, depth + 1));
        }
      }
    }
  }
  return out;
}

/**
 * The values of a list file (`acl NAME TYPE "/path"`): one per line, surrounding whitespace trimmed, blank lines,
 * `#` lines and trailing ` # comments` left out (as Squid 5.7 reads them). Each value keeps its line.
 */
export function readListFile(text: string): { value: string; line: number }[] {
  const out: { value: string; line: number }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const value = raw.replace(/(?:^|\s)#.*$/, '').trim();
    if (value !== '') out.push({ value, line: i + 1 });
  });
  return out;
}

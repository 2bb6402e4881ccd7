/**
 * squid.conf text -> directives (name, arguments, line). Handles what Squid's own reader does for the supported
 * subset: `#` comment lines, blank lines, surrounding whitespace and `\` line continuations. Pure.
 */

/** One directive: `acl safe_ports port 80` is {name: 'acl', args: ['safe_ports', 'port', '80'], line}. */
export interface SquidDirective {
  readonly name: string;
  readonly args: readonly string[];
  /** 1-based line where the directive starts. */
  readonly line: number;
}

/** Splits `text` into directives. A continued line (`\` at its end) joins the next one with a space. */
export function parseSquidConf(text: string): SquidDirective[] {
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
    if (raw.endsWith('\\')) {
      pending += `${raw.slice(0, -1)} `;
      if (i < lines.length - 1) continue;
    }
    const full = (pending + (raw.endsWith('\\') ? '' : raw)).trim();
    pending = '';
    if (full === '') continue;
    const [name, ...args] = full.split(/\s+/);
    out.push({ name: name as string, args, line: start });
  }
  return out;
}

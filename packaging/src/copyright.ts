/**
 * debian/copyright (machine-readable format 1.0) and the npm tarball's THIRD-PARTY-NOTICES: cuttle itself, the Node
 * runtime the .deb ships (its LICENSE, which covers what Node bundles), and one paragraph per npm package inlined
 * into the bundles, each with its own license text.
 */
import type { InlinedPackage } from './bundle.js';

/** cuttle's own license statement. No license has been chosen for the project yet: see packaging/README.md. */
export const CUTTLE_LICENSE = 'UNLICENSED';
const CUTTLE_LICENSE_TEXT =
  'No license has been granted for cuttle yet; all rights reserved by its authors.\nThe bundled third-party components below keep their own licenses.';

/** A text as a copyright-file field continuation: every line indented, empty lines as " .". */
function indent(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/\t/g, '    ')
    .trimEnd()
    .split('\n')
    .map((l) => (l.trim() === '' ? ' .' : ` ${l.trimEnd()}`))
    .join('\n');
}

// Licenses Debian keeps in /usr/share/common-licenses: the copyright file refers there instead of repeating them.
const COMMON_LICENSES: Record<string, string> = {
  'Apache-2.0': 'Apache-2.0',
  'MPL-2.0': 'MPL-2.0',
  'CC0-1.0': 'CC0-1.0',
};

/** A package's license paragraph body: its own text, or the common-licenses reference. */
function licenseBody(p: InlinedPackage): string {
  const common = COMMON_LICENSES[p.license];
  if (common !== undefined)
    return `On Debian systems the full text of the ${p.license} license is in\n/usr/share/common-licenses/${common}.`;
  return p.licenseText ?? `The package declares "${p.license}" and ships no license text.`;
}

/** The copyright lines of a license text, or a statement naming the package's authors. */
function holders(p: InlinedPackage): string {
  const lines = (p.licenseText ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^(\(c\)|copyright\b)/i.test(l) && !/copyright (notice|holders?|owner)/i.test(l))
    .map((l) => l.replace(/^copyright\s*(\(c\)|©)?\s*/i, '').trim())
    .filter((l) => l !== '');
  return lines.length > 0 ? [...new Set(lines)].join('\n ') : `the ${p.name} authors`;
}

export interface CopyrightInput {
  readonly version: string;
  readonly packages: readonly InlinedPackage[];
  /** The runtime: its npm name and version, and its LICENSE text; null for the npm tarball (no runtime inside). */
  readonly runtime: { name: string; version: string; license: string } | null;
  /** Where the bundles are, as the Files: field names them. */
  readonly bundlePaths: (bundle: string) => string;
  readonly runtimePath: string;
}

/** The Debian copyright file. */
export function renderCopyright(input: CopyrightInput): string {
  const out: string[] = [
    `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: cuttle
Comment: Built from the cuttle workspace ${input.version} by \`pnpm package deb\`. The two bundles
 in usr/lib/cuttle inline the npm packages listed below, one paragraph each.

Files: *
Copyright: the cuttle authors
License: ${CUTTLE_LICENSE}
${indent(CUTTLE_LICENSE_TEXT)}`,
  ];
  if (input.runtime !== null)
    out.push(`Files: ${input.runtimePath}
Copyright: Node.js contributors and the authors of the components Node.js bundles (see the license text)
Comment: Node.js ${input.runtime.version}, the official linux-x64 binary from the npm package
 ${input.runtime.name}@${input.runtime.version}, unmodified (its sha512 is pinned in packaging/node-runtime.json).
License: Node.js
${indent(input.runtime.license)}`);
  for (const p of input.packages)
    out.push(`Files: ${p.bundles.map(input.bundlePaths).join(' ')}
Copyright: ${holders(p)}
Comment: npm package ${p.name}@${p.version}${p.homepage === null ? '' : ` (${p.homepage})`}, inlined into
 ${p.bundles.join(' and ')}.
License: ${p.license}
${indent(licenseBody(p))}`);
  return `${out.join('\n\n')}\n`;
}

/** The npm tarball's notices: the same paragraphs as plain text. */
export function renderNotices(packages: readonly InlinedPackage[]): string {
  const parts = packages.map(
    (p) =>
      `${p.name}@${p.version} (${p.license}), inlined into ${p.bundles.join(' and ')}\n\n${(p.licenseText ?? `The package declares "${p.license}" and ships no license text.`).trimEnd()}\n`,
  );
  return `Third-party software inlined into cuttle's bundles\n${'='.repeat(50)}\n\n${parts.join(`\n${'-'.repeat(78)}\n\n`)}`;
}

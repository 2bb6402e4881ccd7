/**
 * `pnpm package deb`: cuttle_VERSION_amd64.deb from the built workspace. Layout:
 *
 *   /usr/bin/cuttle, /usr/bin/cuttle-provision     sh wrappers: exec the runtime on the bundle
 *   /usr/lib/cuttle/node                           the pinned Node 24 (packaging/node-runtime.json)
 *   /usr/lib/cuttle/cuttle.mjs, cuttle-provision.mjs   the bundles (no node_modules)
 *   /lib/systemd/system/cuttle.service             the unit (installed disabled; provisioning adds a drop-in)
 *   /lib/systemd/system/cuttle-identity.service    the identity watcher's unit (installed disabled; apply enables it)
 *   /etc/logrotate.d/cuttle                        the one conffile: rotates /var/log/cuttle/*.log, then SIGUSR1
 *   /usr/share/doc/cuttle/                         copyright, changelog, docs, examples/
 *   /usr/share/man/man1/                           cuttle.1, cuttle-provision.1
 *
 * /etc/cuttle is not in the package: cuttle-provision writes it and purge removes it. Every file gets
 * SOURCE_DATE_EPOCH as its time and a fixed mode, dpkg-deb runs with --root-owner-group: one commit, one byte string.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PACKAGE_CLI,
  PACKAGE_IDENTITY_UNIT_NAME,
  PACKAGE_NODE,
  PACKAGE_PROVISION_CLI,
  PACKAGE_UNIT_DIR,
  PACKAGE_UNIT_NAME,
  renderIdentityUnit,
  renderPackageUnit,
} from '@cuttle/provision';
import { bundleClis } from './bundle.js';
import { renderCopyright } from './copyright.js';
import { StagingTree } from './tree.js';
import { fetchRuntime, ROOT, runtimePin, sourceDateEpoch } from './workspace.js';

export const MAINTAINER = 'cuttle maintainers <maintainers@cuttle.test>';
const DOCS = [
  'config-reference.md',
  'errors.md',
  'exit-codes.md',
  'host-reference.md',
  'lifecycle.md',
  'operations.md',
  'policy.md',
  'provision.md',
  'socket-mode.md',
  'squid-import.md',
];
const EXAMPLES = ['cuttle.yaml', 'cuttle.lxdbr0.yaml', 'host.yaml'];

export interface DebOptions {
  readonly version: string;
  readonly outDir: string;
}

function wrapper(cli: string): string {
  return `#!/bin/sh\nexec ${PACKAGE_NODE} ${cli} "$@"\n`;
}

/** The Debian changelog date of `epoch` (RFC 5322, UTC). */
function changelogDate(epoch: number): string {
  return new Date(epoch * 1000).toUTCString().replace('GMT', '+0000');
}

/**
 * `Depends:` of the runtime, from dpkg-shlibdeps (libc6, libgcc-s1, libstdc++6 with their versions). The unit's
 * `ExecReload=/usr/bin/kill -HUP` adds procps (a minimal root has no kill binary).
 */
function sharedLibraryDepends(binary: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'cuttle-shlibs-'));
  try {
    mkdirSync(join(dir, 'debian'));
    writeFileSync(
      join(dir, 'debian/control'),
      `Source: cuttle\nMaintainer: ${MAINTAINER}\n\nPackage: cuttle\nArchitecture: amd64\n`,
    );
    const out = execFileSync('dpkg-shlibdeps', ['-O', '-e', binary], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const m = /^shlibs:Depends=(.*)$/m.exec(out);
    if (m?.[1] === undefined) throw new Error(`dpkg-shlibdeps printed no shlibs:Depends: ${out}`);
    return m[1];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function control(version: string, depends: string, installedSize: number): string {
  return `Package: cuttle
Version: ${version}
Architecture: amd64
Maintainer: ${MAINTAINER}
Installed-Size: ${installedSize}
Depends: ${depends}, procps
Recommends: logrotate, nftables
Suggests: lxd | incus
Section: net
Priority: optional
Description: egress HTTP proxy and layer-7 firewall for LXD containers
 cuttle replaces Squid as the one way out of LXD containers on a bridge that has
 only IPv6 link-local addresses: plain HTTP to ports 80 and 443 and CONNECT to
 443, only to allowlisted names, never to names that resolve to private
 addresses. It logs every attempt (JSON or Squid's access.log format) and
 exports Prometheus metrics. cuttle import-squid converts a squid.conf.
 .
 cuttle-provision sets up the LXD host around it (storage pool, bridge,
 profile, nftables table, the unit's drop-in) with a plan before every change.
 The package carries its own Node.js runtime.
`;
}

/** Builds the .deb into `outDir`; returns its path. Needs `pnpm build` first. */
export async function buildDeb(options: DebOptions): Promise<string> {
  const { version, outDir } = options;
  const epoch = sourceDateEpoch();
  const pin = runtimePin();
  const runtime = fetchRuntime();
  const { bundles, packages } = await bundleClis(version);
  const work = mkdtempSync(join(tmpdir(), 'cuttle-deb-'));
  try {
    const t = new StagingTree(join(work, 'root'));
    const lib = (name: string): string => `usr/lib/cuttle/${name}`;
    t.copy(join(runtime, 'bin/node'), PACKAGE_NODE.slice(1), 0o755);
    for (const b of bundles) t.write(lib(b.name), b.text);
    t.write('usr/bin/cuttle', wrapper(PACKAGE_CLI), 0o755);
    t.write('usr/bin/cuttle-provision', wrapper(PACKAGE_PROVISION_CLI), 0o755);
    t.write(`${PACKAGE_UNIT_DIR.slice(1)}/${PACKAGE_UNIT_NAME}`, renderPackageUnit());
    t.write(`${PACKAGE_UNIT_DIR.slice(1)}/${PACKAGE_IDENTITY_UNIT_NAME}`, renderIdentityUnit());
    t.write('etc/logrotate.d/cuttle', readFileSync(join(ROOT, 'packaging/debian/logrotate')));
    const doc = 'usr/share/doc/cuttle';
    t.write(
      `${doc}/copyright`,
      renderCopyright({
        version,
        packages,
        runtime: {
          name: pin.package,
          version: pin.version,
          license: readFileSync(join(runtime, 'LICENSE'), 'utf8'),
        },
        bundlePaths: lib,
        runtimePath: lib('node'),
      }),
    );
    t.writeGzip(
      `${doc}/changelog.gz`,
      `cuttle (${version}) unstable; urgency=medium\n\n  * Built from the cuttle workspace with \`pnpm package deb\`.\n\n -- ${MAINTAINER}  ${changelogDate(epoch)}\n`,
    );
    t.write(`${doc}/README.md`, readFileSync(join(ROOT, 'README.md')));
    for (const d of DOCS) t.write(`${doc}/${d}`, readFileSync(join(ROOT, 'docs', d)));
    for (const e of EXAMPLES) t.write(`${doc}/examples/${e}`, readFileSync(join(ROOT, 'config', e)));
    for (const m of ['cuttle.1', 'cuttle-provision.1'])
      t.writeGzip(`usr/share/man/man1/${m}.gz`, readFileSync(join(ROOT, 'packaging/debian', m)));
    t.write(
      'usr/share/lintian/overrides/cuttle',
      readFileSync(join(ROOT, 'packaging/debian/lintian-overrides')),
    );

    const files = t.files();
    const md5sums = files
      .filter((f) => !f.startsWith('etc/'))
      .map(
        (f) =>
          `${createHash('md5')
            .update(readFileSync(join(t.dir, f)))
            .digest('hex')}  ${f}\n`,
      )
      .join('');
    const depends = sharedLibraryDepends(join(t.dir, PACKAGE_NODE.slice(1)));
    const size = t.installedSizeKiB();
    const d = (name: string): string => `DEBIAN/${name}`;
    t.write(d('control'), control(version, depends, size));
    t.write(d('md5sums'), md5sums);
    t.write(d('conffiles'), '/etc/logrotate.d/cuttle\n');
    for (const s of ['postinst', 'prerm', 'postrm'])
      t.write(d(s), readFileSync(join(ROOT, 'packaging/debian', s)), 0o755);
    t.fixTimes(epoch);

    mkdirSync(outDir, { recursive: true });
    const out = join(outDir, `cuttle_${version}_amd64.deb`);
    execFileSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z9', '--build', t.dir, out], {
      env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

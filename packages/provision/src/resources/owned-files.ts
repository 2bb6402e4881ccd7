/**
 * The files cuttle-provision owns: the proxy's config, the nftables table (bridge mode), the systemd unit's drop-in
 * (the package ships the unit) and (on a deb LXD from backports) the APT pin. Written under a root prefix (`--root DIR`, default /) so tests write into a temp dir, atomically (apply.ts).
 */
import { join } from 'node:path';
import { type HostConfig, usesBridge } from '../host-config/schema.js';
import { lineDiff } from '../internal/line-diff.js';
import { backportsSuite, renderAptPin } from '../render/apt-pin.js';
import { MANAGED_MARK } from '../render/managed-header.js';
import { renderNftables } from '../render/nftables.js';
import { renderProxyConfig } from '../render/proxy-config.js';
import { renderUnitDropIn, unitDropInPath } from '../render/systemd-unit.js';
import type { HostFacts, InstallFacts } from './facts.js';
import type { ResourcePlan } from './types.js';

/** One owned file. */
export interface OwnedFile {
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

/** Every file `config` asks for on this host; `skipped` says why a file is left out (the pin, mostly). */
export function ownedFiles(
  config: HostConfig,
  facts: InstallFacts,
): { files: OwnedFile[]; skipped: string[] } {
  const files: OwnedFile[] = [
    { path: config.proxy.config_file, content: renderProxyConfig(config), mode: 0o644 },
    ...(usesBridge(config)
      ? [{ path: config.firewall.file, content: renderNftables(config), mode: 0o644 }]
      : []),
    { path: unitDropInPath(config), content: renderUnitDropIn(config), mode: 0o644 },
  ];
  const skipped: string[] = [];
  const pin = config.apt_pin;
  const wantPin = pin.mode === 'always' || (pin.mode === 'auto' && facts.lxdInstall === 'deb-backports');
  if (wantPin) {
    const suite = backportsSuite(config, facts.osRelease);
    if (suite === null)
      skipped.push(`${pin.file}: no VERSION_CODENAME in /etc/os-release; set apt_pin.suite`);
    else files.push({ path: pin.file, content: renderAptPin(suite), mode: 0o644 });
  } else if (pin.mode === 'auto') {
    skipped.push(
      `${pin.file}: not needed, LXD here is ${facts.lxdInstall === 'deb' ? 'a deb not from backports' : `a ${facts.lxdInstall} install`}`,
    );
  }
  return { files, skipped };
}

function modeText(mode: number): string {
  return `0${(mode & 0o7777).toString(8)}`;
}

/** Plans one file: its content and its mode (enforced on every write, so a chmod by hand is reverted). */
export function planFile(facts: HostFacts, file: OwnedFile): ResourcePlan {
  const full = join(facts.root, file.path);
  const id = `file ${file.path}`;
  const have = facts.files[file.path] ?? null;
  const write = { kind: 'write-file' as const, path: full, content: file.content, mode: file.mode };
  if (have?.content === file.content) {
    if (have.mode === file.mode) return { id, action: 'none', changes: [] };
    return {
      id,
      action: 'update',
      changes: [{ key: 'mode', from: modeText(have.mode), to: modeText(file.mode) }],
      steps: [write],
    };
  }
  const diff = lineDiff(have?.content ?? '', file.content);
  return {
    id,
    action: have === null ? 'create' : 'update',
    changes: [
      { key: 'content', from: have === null ? undefined : 'see diff', to: diff },
      ...(have !== null && have.mode !== file.mode
        ? [{ key: 'mode', from: modeText(have.mode), to: modeText(file.mode) }]
        : []),
    ],
    ...(have !== null && !have.content.includes(MANAGED_MARK)
      ? { note: 'this file was not written by cuttle-provision; apply overwrites it' }
      : {}),
    steps: [write],
  };
}

/** Plans removing one file: only when it carries the managed mark (someone else's file is left alone). */
export function planFileRemoval(facts: HostFacts, path: string): ResourcePlan {
  const id = `file ${path}`;
  const have = facts.files[path] ?? null;
  if (have === null) return { id, action: 'none', changes: [] };
  if (!have.content.includes(MANAGED_MARK))
    return { id, action: 'none', changes: [], note: 'kept: not written by cuttle-provision' };
  return {
    id,
    action: 'delete',
    changes: [{ key: 'content', from: 'file', to: undefined }],
    steps: [{ kind: 'remove-file', path: join(facts.root, path) }],
  };
}

/** Facts about the workspace a package is built from: its root, the version, the timestamp every file gets. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The workspace root (packaging/dist/ -> ../..). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The version both CLIs report: the proxy package's. */
export function workspaceVersion(): string {
  const pkg = JSON.parse(readFileSync(`${ROOT}packages/proxy/package.json`, 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * The time every packaged file carries: `SOURCE_DATE_EPOCH` when set, else the last commit's, so two builds of one
 * commit give the same bytes.
 */
export function sourceDateEpoch(): number {
  const env = process.env.SOURCE_DATE_EPOCH;
  if (env !== undefined && env !== '') {
    if (!/^\d+$/.test(env)) throw new Error(`SOURCE_DATE_EPOCH must be seconds since 1970, not "${env}"`);
    return Number(env);
  }
  const out = execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8' }).trim();
  if (!/^\d+$/.test(out)) throw new Error('no SOURCE_DATE_EPOCH and no git commit to take it from');
  return Number(out);
}

/** The pinned Node runtime (packaging/node-runtime.json). */
export interface RuntimePin {
  readonly package: string;
  readonly version: string;
  readonly integrity: string;
}

export function runtimePin(): RuntimePin {
  return JSON.parse(readFileSync(`${ROOT}packaging/node-runtime.json`, 'utf8')) as RuntimePin;
}

/** The pinned runtime's package directory (with bin/node and LICENSE), fetched and checked by scripts/node24.sh. */
export function fetchRuntime(): string {
  const bin = execFileSync('bash', [`${ROOT}scripts/node24.sh`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  return bin.replace(/\/bin\/node$/, '');
}

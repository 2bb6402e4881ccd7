/** Runs the compiled cuttle-provision CLI (`pnpm build` first) against the private LXD daemon. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CUTTLE_MAIN, LXD_TEST_TAG, lxdEnv, lxdTestPort } from '@cuttle/test-support';
import { expect } from 'vitest';
import { parse } from 'yaml';

export const PROVISION_MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `cuttle-provision ARGS`; never throws. */
export function provision(args: string[], env: NodeJS.ProcessEnv = lxdEnv()): Promise<CliResult> {
  if (!existsSync(PROVISION_MAIN)) throw new Error(`${PROVISION_MAIN} missing: run \`pnpm build\` first`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [PROVISION_MAIN, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A temp dir holding `host.yaml` with `text`, and a `root` prefix for the files; `remove()` deletes it. */
export function hostYaml(text: string): { dir: string; file: string; root: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'cpv-'));
  const file = join(dir, 'host.yaml');
  writeFileSync(file, text);
  return { dir, file, root: join(dir, 'root'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Test-only names, tagged per daemon (see LXD_TEST_TAG). */
export const T = {
  pool: `cpv-pool-${LXD_TEST_TAG}`,
  zpool: `cpv-zpool-${LXD_TEST_TAG}`,
  bridge: `cpvbr${LXD_TEST_TAG}`,
  profile: `cpv-profile-${LXD_TEST_TAG}`,
  container: `cpv-c1-${LXD_TEST_TAG}`,
  table: `cpv_cuttle_${LXD_TEST_TAG}`,
  proxyPort: lxdTestPort(0),
  probePort: lxdTestPort(1),
} as const;

/** `proxy.node` and `proxy.cli` lines (under `proxy:`) naming this Node and the built CLI: plan needs them to exist. */
export const RUNTIME_YAML = `  node: ${process.execPath}\n  cli: ${CUTTLE_MAIN}\n`;

/** The test-only host.yaml: names no other test or host uses. */
export const TEST_HOST_YAML = `pool:
  name: ${T.pool}
  driver: dir
bridge:
  name: ${T.bridge}
  hwaddr: 00:16:3e:cf:01:01
profile:
  name: ${T.profile}
proxy:
  port: ${T.proxyPort}
  allow: [allowed.test]
${RUNTIME_YAML}firewall:
  table: ${T.table}
  file: /etc/cuttle/cpv.nft
`;

/** `verify ARGS --instance NAME --url URL`, asserting that no check failed and it exited 0; the result. */
export async function verifyPasses(
  args: readonly string[],
  instance: string,
  url: string,
): Promise<CliResult> {
  const r = await provision(['verify', ...args, '--instance', instance, '--url', url]);
  expect(r.stdout).not.toContain('FAIL');
  expect(r.code).toBe(0);
  return r;
}

/** The proxy config apply generated under `root`, parsed. */
export function generatedProxyConfig(root: string): Record<string, unknown> {
  return parse(readFileSync(join(root, 'etc/cuttle/cuttle.yaml'), 'utf8')) as Record<string, unknown>;
}

/** Deletes the tables named `table` in every family cuttle-provision loads (test cleanup; missing ones are fine). */
export function dropTables(table: string): void {
  for (const family of ['inet', 'netdev', 'bridge'])
    spawnSync('nft', ['delete', 'table', family, table], { stdio: 'ignore' });
}

/**
 * One sync of the bridge guard's sets, as `identity --watch --guard-*` does on every LXD event: a container
 * launched after `apply` reaches the proxy only once the guard knows its NIC.
 */
export async function syncGuard(table: string, bridge: string): Promise<void> {
  const r = await provision(['identity', '--guard-table', table, '--guard-bridge', bridge]);
  if (r.code !== 0) throw new Error(`identity --guard-table ${table}: exit ${r.code}: ${r.stderr}`);
}

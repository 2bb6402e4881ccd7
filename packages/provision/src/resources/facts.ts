/**
 * Everything the planner needs to know about the host, read once by `gatherFacts()` through small interfaces
 * (LXD, nft, dpkg, the filesystem), so that `planHost(facts, config)` is a pure function and every planning rule
 * is a table test without a daemon. Only gatherFacts and apply.ts touch the host.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readGuardPairs } from '../guard/guard-sets.js';
import { type HostConfig, managedProfiles, usesBridge } from '../host-config/schema.js';
import type { LxdResult, LxdServerInfo } from '../lxd/client.js';
import { unitDropInPath } from '../render/systemd-unit.js';

/** How LXD got onto this host (a deb from backports needs the APT pin, a snap none). */
export type LxdInstall = 'snap' | 'deb-backports' | 'deb' | 'unknown';

/** How LXD was installed, and /etc/os-release (the distribution's codename names the backports suite). */
export interface InstallFacts {
  readonly lxdInstall: LxdInstall;
  readonly osRelease: string;
}

/** An LXD storage pool as GET /1.0/storage-pools/NAME shows it. */
export interface LxdPool {
  readonly name: string;
  readonly driver: string;
  readonly config: Readonly<Record<string, string>>;
  readonly description: string;
}

/** An LXD network. */
export interface LxdNetwork {
  readonly name: string;
  readonly type: string;
  readonly managed: boolean;
  readonly description: string;
  readonly config: Readonly<Record<string, string>>;
  /** Instances and profiles using it (`/1.0/instances/NAME`, `/1.0/profiles/NAME`). */
  readonly used_by?: readonly string[];
}

/** An LXD profile. */
export interface LxdProfile {
  readonly name: string;
  readonly description: string;
  readonly config: Readonly<Record<string, string>>;
  readonly devices: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly used_by?: readonly string[];
}

/** An instance, as far as planning cares. */
export interface LxdInstance {
  readonly name: string;
  readonly status: string;
  readonly profiles: readonly string[];
  readonly expanded_devices: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** The expanded config (the NICs' `volatile.NIC.hwaddr`, which the bridge guard needs). */
  readonly expanded_config?: Readonly<Record<string, string>>;
}

/** One owned file as it is on disk (under the root prefix). */
export interface FileFact {
  readonly content: string;
  /** Permission bits (`mode & 0o7777`). */
  readonly mode: number;
}

/** What the planner knows. Maps are keyed by the names host.yaml uses; null: it does not exist. */
export interface HostFacts {
  /** The root prefix the files are under (`--root`, default `/`). */
  readonly root: string;
  readonly lxd: {
    readonly socketPath: string;
    readonly extensions: readonly string[];
    readonly incus: boolean;
    readonly pools: Readonly<Record<string, LxdPool | null>>;
    readonly networks: Readonly<Record<string, LxdNetwork | null>>;
    readonly profiles: Readonly<Record<string, LxdProfile | null>>;
    readonly instances: readonly LxdInstance[];
  };
  readonly install: InstallFacts;
  /** `FAMILY NAME` (`inet cuttle`) -> true when the table is in the kernel. */
  readonly nftTables: Readonly<Record<string, boolean>>;
  /**
   * Table name -> the bridge guard's (MAC, address) pairs in the kernel (`MAC . ADDRESS`, sorted), null when the
   * guard table is not loaded; absent: not read (taken as empty when the table is loaded).
   */
  readonly guardPairs?: Readonly<Record<string, readonly string[] | null>>;
  /** Host path (without the root prefix) -> the file, for every file the config may own. */
  readonly files: Readonly<Record<string, FileFact | null>>;
  /** Host path -> exists (the pool's source device, /sys/module/zfs, the unit's Node and CLI under root or here). */
  readonly paths: Readonly<Record<string, boolean>>;
  /** systemd is PID 1 and the files go to the real root: only then are units reloaded and enabled. */
  readonly systemd: boolean;
}

/** Reads from LXD (an LxdClient is one). */
export interface LxdReader {
  readonly socketPath: string;
  server(): Promise<LxdServerInfo>;
  getOrNull<T>(path: string): Promise<LxdResult<T> | null>;
  request<T>(method: 'GET', path: string): Promise<LxdResult<T>>;
}

/** Reads from the kernel's nftables. */
export interface NftReader {
  /** True when table `family name` is loaded. */
  hasTable(family: string, name: string): boolean;
  /** The bridge guard's pairs in table `netdev name` (guard/guard-sets.ts), or null when it is not loaded. */
  guardPairs?(name: string): string[] | null;
}

/** Reads installed Debian packages. */
export interface PackageReader {
  /** The installed version of `name`, or null. */
  debVersion(name: string): string | null;
}

/** Reads files (real paths, the root prefix already applied by the caller where it applies). */
export interface FileReader {
  read(path: string): FileFact | null;
  exists(path: string): boolean;
}

/** The readers gatherFacts uses; `systemReaders()` gives the real ones. */
export interface FactReaders {
  readonly lxd: LxdReader;
  readonly nft: NftReader;
  readonly packages: PackageReader;
  readonly files: FileReader;
}

/** `nft ARGS`: ok and stdout, or why not (nft missing, the table absent). */
export function runNft(args: readonly string[]): { ok: boolean; out: string } {
  try {
    return {
      ok: true,
      out: execFileSync('nft', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    };
  } catch (err) {
    const e = err as { stderr?: string; code?: string; message: string };
    return {
      ok: false,
      out: e.code === 'ENOENT' ? 'nft is not installed (package nftables)' : (e.stderr ?? e.message),
    };
  }
}

/** The real nft, dpkg-query and filesystem. */
export function systemReaders(lxd: LxdReader): FactReaders {
  return {
    lxd,
    nft: {
      hasTable: (family, name) => runNft(['list', 'table', family, name]).ok,
      guardPairs: (name) => readGuardPairs(name),
    },
    packages: {
      debVersion: (name) => {
        try {
          // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
          const out = execFileSync('dpkg-query', ['-W', '-f=${Status} ${Version}', name], {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'ignore'],
          });
          const m = /^install ok installed (\S+)$/.exec(out.trim());
          return m?.[1] ?? null;
        } catch {
          return null;
        }
      },
    },
    files: {
      read: (path) => {
        try {
          return { content: readFileSync(path, 'utf8'), mode: statSync(path).mode & 0o7777 };
        } catch {
          return null;
        }
      },
      exists: (path) => existsSync(path),
    },
  };
}

/** Detects the LXD installation; `socketPath` is the socket in use (a snap daemon lives under /var/snap). */
export function detectInstall(socketPath: string, packages: PackageReader, files: FileReader): InstallFacts {
  let lxdInstall: LxdInstall = 'unknown';
  const version = packages.debVersion('lxd');
  if (socketPath.startsWith('/var/snap/') || (version === null && files.exists('/snap/bin/lxd')))
    lxdInstall = 'snap';
  else if (version !== null) lxdInstall = /~bpo/.test(version) ? 'deb-backports' : 'deb';
  return { lxdInstall, osRelease: files.read('/etc/os-release')?.content ?? '' };
}

/** Every file `config` may own (written by apply or removed by remove), as host paths. */
export function ownedFilePaths(config: HostConfig): string[] {
  return [
    config.proxy.config_file,
    config.firewall.file,
    unitDropInPath(config),
    join(config.unit.dir, config.unit.name),
    config.apt_pin.file,
  ];
}

/**
 * The nft tables `config` owns (loaded in bridge mode, removed by `remove` in any mode), as `[family, name]`: the
 * inet table and the bridge guard's netdev and bridge tables (render/nftables.ts), all from one file.
 */
export function ownedTables(config: HostConfig): [string, string][] {
  const t = config.firewall.table;
  return [['inet', t], ...GUARD_FAMILIES.map((f): [string, string] => [f, t])];
}

/** The families of the bridge guard's tables. */
export const GUARD_FAMILIES = ['netdev', 'bridge'] as const;

/** Host paths whose existence the planner asks about. */
export function probedPaths(config: HostConfig): string[] {
  const out = ['/sys/module/zfs'];
  if (config.pool.source?.startsWith('/dev/')) out.push(config.pool.source);
  return out;
}

/** The unit's runtime and CLI: they count as present under `--root` (an image being prepared) or on this host. */
export function runtimePaths(config: HostConfig): string[] {
  return [config.proxy.node, config.proxy.cli];
}

const path = {
  pool: (n: string) => `/1.0/storage-pools/${encodeURIComponent(n)}`,
  network: (n: string) => `/1.0/networks/${encodeURIComponent(n)}`,
  profile: (n: string) => `/1.0/profiles/${encodeURIComponent(n)}`,
};

/** LXD's REST paths of the objects host.yaml names. */
export const lxdPath = path;

async function metaOrNull<T>(lxd: LxdReader, p: string): Promise<T | null> {
  return (await lxd.getOrNull<T>(p))?.metadata ?? null;
}

/** Reads every fact the planner needs for `config`, with the files under `root`. */
export async function gatherFacts(readers: FactReaders, config: HostConfig, root = '/'): Promise<HostFacts> {
  const { lxd, nft, packages, files } = readers;
  const info = await lxd.server();
  const pools: Record<string, LxdPool | null> = {
    [config.pool.name]: await metaOrNull<LxdPool>(lxd, path.pool(config.pool.name)),
  };
  const networks: Record<string, LxdNetwork | null> = {};
  if (usesBridge(config))
    networks[config.bridge.name] = await metaOrNull<LxdNetwork>(lxd, path.network(config.bridge.name));
  const profiles: Record<string, LxdProfile | null> = {};
  for (const p of managedProfiles(config))
    profiles[p.name] = await metaOrNull<LxdProfile>(lxd, path.profile(p.name));
  const instances = (await lxd.request<LxdInstance[]>('GET', '/1.0/instances?recursion=1')).metadata ?? [];
  const nftTables: Record<string, boolean> = {};
  for (const [family, name] of ownedTables(config))
    nftTables[`${family} ${name}`] = nft.hasTable(family, name);
  const guardPairs: Record<string, string[] | null> = {};
  if (nft.guardPairs !== undefined) guardPairs[config.firewall.table] = nft.guardPairs(config.firewall.table);
  const fileFacts: Record<string, FileFact | null> = {};
  for (const p of ownedFilePaths(config)) fileFacts[p] = files.read(join(root, p));
  const paths: Record<string, boolean> = {};
  for (const p of probedPaths(config)) paths[p] = files.exists(p);
  for (const p of runtimePaths(config)) paths[p] = files.exists(join(root, p)) || files.exists(p);
  return {
    root,
    lxd: {
      socketPath: lxd.socketPath,
      extensions: info.api_extensions,
      incus: info.environment.server === 'incus',
      pools,
      networks,
      profiles,
      instances: instances.map((i) => ({
        name: i.name,
        status: i.status,
        profiles: i.profiles ?? [],
        expanded_devices: i.expanded_devices ?? {},
        expanded_config: i.expanded_config ?? {},
      })),
    },
    install: detectInstall(lxd.socketPath, packages, files),
    nftTables,
    guardPairs,
    files: fileFacts,
    paths,
    systemd: root === '/' && files.exists('/run/systemd/system'),
  };
}

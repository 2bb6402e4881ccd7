/** Facts for planner tests: an empty host (nothing in LXD, no files, no tables) with parts replaced. */
import { join } from 'node:path';
import { PACKAGE_CLI, PACKAGE_NODE } from '../../src/host-config/package-paths.js';
import type { Effects } from '../../src/resources/apply.js';
import type { FileFact, HostFacts } from '../../src/resources/facts.js';
import { systemReaders } from '../../src/resources/facts.js';

type Lxd = HostFacts['lxd'];

/** An LXD 5.0.2-like daemon with nothing in it, no files, no tables, no systemd; `over` replaces parts. */
export function hostFacts(over: Partial<Omit<HostFacts, 'lxd'>> & { lxd?: Partial<Lxd> } = {}): HostFacts {
  const { lxd, paths, ...rest } = over;
  return {
    root: '/',
    install: { lxdInstall: 'deb', osRelease: 'VERSION_CODENAME=bookworm\n' },
    nftTables: {},
    files: {},
    systemd: false,
    ...rest,
    // The package's Node and CLI are installed unless a test says otherwise.
    paths: { [PACKAGE_NODE]: true, [PACKAGE_CLI]: true, ...paths },
    lxd: {
      socketPath: '/var/lib/lxd/unix.socket',
      extensions: ['network_hwaddr', 'cloud_init'],
      incus: false,
      pools: {},
      networks: {},
      profiles: {},
      instances: [],
      ...lxd,
    },
  };
}

/** The real files at host paths `paths` under `root`, as gatherFacts reads them. */
export function filesUnder(root: string, paths: readonly string[]): Record<string, FileFact | null> {
  const reader = systemReaders(undefined as never).files;
  return Object.fromEntries(paths.map((p) => [p, reader.read(join(root, p))]));
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Effects that apply a plan to `facts` in memory, as LXD and the filesystem would (create adds the object, update
 * PUTs what `build` returns over the current one, files and tables appear), so a test can plan again afterwards.
 */
export function memoryEffects(
  facts: HostFacts,
  /** Full path of a table's file -> the table it loads (`inet cuttle`). */
  nftFiles: Readonly<Record<string, string>> = {},
): Effects & { log: string[] } {
  const lxd = facts.lxd as Mutable<Lxd>;
  const maps: Record<string, Record<string, unknown>> = {
    '/1.0/storage-pools': lxd.pools as Record<string, unknown>,
    '/1.0/networks': lxd.networks as Record<string, unknown>,
    '/1.0/profiles': lxd.profiles as Record<string, unknown>,
  };
  const locate = (path: string): [Record<string, unknown>, string] => {
    const i = path.lastIndexOf('/');
    const map = maps[path.slice(0, i)];
    if (map === undefined) throw new Error(`no such collection: ${path}`);
    return [map, decodeURIComponent(path.slice(i + 1))];
  };
  const unroot = (p: string): string => (facts.root === '/' ? p : p.slice(facts.root.length));
  const log: string[] = [];
  return {
    log,
    lxdCreate: async (path, body) => {
      log.push(`POST ${path}`);
      const map = maps[path];
      if (map === undefined) throw new Error(`no such collection: ${path}`);
      const b = body as { name: string; type?: string };
      map[b.name] = { managed: true, type: b.type, ...body };
    },
    lxdUpdate: async (path, build) => {
      log.push(`PUT ${path}`);
      const [map, name] = locate(path);
      const cur = map[name] as Record<string, unknown>;
      map[name] = { ...cur, ...build(structuredClone(cur)) };
    },
    writeFile: (path, content, mode) => {
      log.push(`write ${path} ${mode.toString(8)}`);
      (facts.files as Record<string, FileFact | null>)[unroot(path)] = { content, mode };
    },
    removeFile: (path) => {
      log.push(`rm ${path}`);
      (facts.files as Record<string, FileFact | null>)[unroot(path)] = null;
    },
    nft: (args) => {
      log.push(`nft ${args.join(' ')}`);
      const tables = facts.nftTables as Record<string, boolean>;
      const loads = args[0] === '-f' ? nftFiles[args[1] ?? ''] : undefined;
      // The file defines the inet table and the bridge guard's netdev and bridge tables of the same name.
      if (loads !== undefined)
        for (const f of ['', 'netdev ', 'bridge '])
          tables[f === '' ? loads : `${f}${loads.split(' ')[1]}`] = true;
      if (args[0] === 'delete') tables[`${args[2]} ${args[3]}`] = false;
    },
    run: (argv) => {
      log.push(argv.join(' '));
    },
  };
}

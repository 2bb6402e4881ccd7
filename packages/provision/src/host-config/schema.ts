/**
 * The host.yaml schema: the single source of truth for what cuttle-provision manages. Defaults reproduce the seed's
 * host (pool `lxd` on zfs over `/dev/system/lxd-zfs`, bridge `lxdbr0` with only link-local addresses, the default
 * profile pointing at the proxy on `[fe80::1%eth0]:3128`), with what running LXD 5.0.2 taught us (issue 5, item 4).
 * docs/host-reference.md is generated from it (`pnpm -s provision reference`).
 */
import { z } from 'zod';
import { PACKAGE_CLI, PACKAGE_CONFIG_FILE, PACKAGE_NODE, PROXY_NODE_FLAGS } from './package-paths.js';

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, `_`, `.` and `-` (at most 63)')
  .describe('LXD object name');
const absPath = z.string().regex(/^\//, 'must be an absolute path');
/** A Linux network interface name: at most 15 bytes (IFNAMSIZ 16 with the NUL), no `/`, `:` or white space. */
const ifname = z
  .string()
  .max(15, 'at most 15 characters: Linux interface names are limited to 15 (IFNAMSIZ)')
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
    'letters, digits, `_`, `.` and `-`, starting with a letter or digit',
  );
const stringMap = z.record(z.string(), z.string());

export const poolSchema = z
  .strictObject({
    name: name.default('lxd').describe('Storage pool name.'),
    driver: z
      .enum(['zfs', 'dir', 'btrfs'])
      .default('zfs')
      .describe(
        'Storage driver. A pool is never deleted or replaced automatically: a change says "replace required".',
      ),
    source: z
      .string()
      .optional()
      .describe(
        'Block device, dataset or directory handed to LXD (`source`). Default for zfs: `/dev/system/lxd-zfs`; dir/btrfs: LXD chooses.',
      ),
    config: stringMap.default({}).describe('Further pool keys, set at creation and kept converged.'),
    lvm: z
      .strictObject({
        create: z
          .boolean()
          .default(false)
          .describe('Create the logical volume for `source` with lvcreate when it is missing.'),
        volume_group: z.string().default('system').describe('Volume group for `lvcreate`.'),
        name: z.string().default('lxd-zfs').describe('Logical volume name.'),
        size: z.string().default('30g').describe('Logical volume size (`lvcreate -L`).'),
      })
      .default({ create: false, volume_group: 'system', name: 'lxd-zfs', size: '30g' })
      .describe('The LVM volume under a zfs pool (the seed: `lvcreate -L30g -n lxd-zfs system`).'),
  })
  .describe('The storage pool holding the containers.');

export const bridgeSchema = z
  .strictObject({
    name: ifname
      .default('lxdbr0')
      .describe(
        "Bridge name (also the proxy's listen interface); a Linux interface name, at most 15 characters.",
      ),
    address: z
      .string()
      .regex(/^fe80::[0-9a-f:]*\/64$/i, 'a link-local address with /64, e.g. `fe80::1/64`')
      .default('fe80::1/64')
      .describe(
        "The host's link-local address on the bridge (`ipv6.address`). Not `none`: LXD >= 5.0.1 then disables IPv6 on the bridge.",
      ),
    hwaddr: z
      .string()
      .regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i, 'a MAC address like `00:16:3e:00:00:01`')
      .default('00:16:3e:00:00:01')
      .describe('Fixed MAC (`bridge.hwaddr`, API extension `network_hwaddr`).'),
    config: stringMap.default({}).describe('Further network keys, merged over the managed ones.'),
  })
  .describe('The link-local-only bridge the containers sit on.');

export const profileSchema = z
  .strictObject({
    name: name.default('default').describe('Profile to manage (the seed used `default`).'),
    nic: ifname
      .default('eth0')
      .describe('NIC device name, also the interface inside the container (at most 15 characters).'),
    environment: stringMap
      .default({})
      .describe('Further `environment.*` keys (without the prefix), e.g. `{TZ: UTC}`.'),
    no_proxy: z.string().default('localhost,127.0.0.1,::1').describe('`no_proxy` / `NO_PROXY` value.'),
    config: stringMap.default({}).describe('Further profile keys.'),
    cloud_init: z
      .boolean()
      .default(true)
      .describe("Add cloud-init user-data writing the proxy into /etc/environment and apt's configuration."),
  })
  .describe('The profile the containers use.');

export const proxySchema = z
  .strictObject({
    port: z.number().int().min(1).max(65535).default(3128).describe('Proxy port on the bridge address.'),
    config_file: absPath.default(PACKAGE_CONFIG_FILE).describe("Where the proxy's config is written."),
    allow: z
      .array(z.string().min(1))
      .default([])
      .describe(
        "Allowed destination names (the proxy's `allow`); the seed allowed its distribution's mirrors.",
      ),
    settings: z
      .record(z.string(), z.unknown())
      .default({})
      .describe('Further proxy config keys (see config-reference.md), merged over the generated ones.'),
    node: absPath
      .default(PACKAGE_NODE)
      .describe("Absolute path of a supported Node (>= 20.18.1); default: the package's runtime."),
    node_flags: z
      .array(
        z
          .string()
          .regex(
            /^--[a-z0-9][a-z0-9-]*(=[A-Za-z0-9._:,/-]+)?$/,
            'one Node or V8 option per item, `--name` or `--name=value` (no spaces or quotes)',
          ),
      )
      .default([...PROXY_NODE_FLAGS])
      .describe(
        "Options for Node before the CLI on the proxy's command line; default: a young generation of 16-32 MiB per semi-space and no GC helper threads, for steady latency (`[]`: V8's own sizes and threads, ~20 MiB less memory).",
      ),
    cli: absPath
      .default(PACKAGE_CLI)
      .describe(
        "Absolute path of the `cuttle` CLI; default: the package's bundle. A checkout: `CHECKOUT/packages/proxy/dist/cli/main.js`.",
      ),
  })
  .describe('The cuttle daemon on the host.');

export const firewallSchema = z
  .strictObject({
    table: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_]{0,31}$/, 'letters, digits and `_`')
      .default('cuttle')
      .describe(
        'nftables table name cuttle-provision owns, in three families: `inet` (what reaches the host), `netdev` (the bridge guard) and `bridge` (nothing between containers).',
      ),
    file: absPath
      .default('/etc/cuttle/cuttle.nft')
      .describe("The table's file, loaded by the unit before the proxy starts."),
    load: z.boolean().default(true).describe('`apply` loads the table into the running kernel too.'),
    allow_ipv4: z
      .boolean()
      .default(false)
      .describe(
        'The bridge guard lets IPv4 and ARP from the containers reach the host (default: dropped, so the host answers no ARP from the bridge).',
      ),
    allow_between_containers: z
      .boolean()
      .default(false)
      .describe(
        'Containers on the bridge may reach each other (default: no frame between them is forwarded, and their NICs get `security.port_isolation`).',
      ),
  })
  .describe('The nftables table: from the bridge only TCP to the proxy and neighbour discovery get in.');

export const aptPinSchema = z
  .strictObject({
    mode: z
      .enum(['auto', 'always', 'never'])
      .default('auto')
      .describe('`auto`: write the pin only when LXD is a deb from backports (a snap LXD needs none).'),
    suite: z
      .string()
      .optional()
      .describe('Backports suite; default `CODENAME-backports` from /etc/os-release.'),
    file: absPath.default('/etc/apt/preferences.d/cuttle-lxd.pref').describe('Pin file path.'),
  })
  .describe('The APT pin taking `lxd*` from backports at priority 500.');

export const unitSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9@_.-]+\.service$/, 'a unit name ending in `.service`')
      .default('cuttle.service'),
    dir: absPath
      .default('/etc/systemd/system')
      .describe("Where the drop-in `NAME.d/cuttle-provision.conf` with the host's values is written."),
  })
  .describe(
    'The hardened systemd unit running the proxy: the package ships it, provisioning adds a drop-in.',
  );

export const socketSchema = z
  .strictObject({
    path: absPath
      .regex(/\.sock$/, 'a socket path ending in `.sock`')
      .default('/run/cuttle/cuttle.sock')
      .describe(
        "cuttle's unix socket on the host (the proxy's `unix:` listener). Under /run/DIR/ the unit gets `RuntimeDirectory=DIR`; elsewhere `ReadWritePaths=` its directory.",
      ),
    mode: z
      .string()
      .regex(/^0?[0-7]{3}$/, 'an octal mode such as "0660"')
      .default('0660')
      .describe(
        "Permission bits of the socket file (the proxy's `unix_socket.mode`). LXD's forkproxy connects as root (the device's `security.uid`, default 0), so the unit's dynamic user owning it is enough.",
      ),
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .default(3128)
      .describe('Port of the proxy device inside the container: `http://127.0.0.1:PORT`.'),
    device: name.default('cuttle').describe('Name of the LXD proxy device in the profile.'),
    profile: name
      .nullable()
      .default(null)
      .describe(
        'With `mode: bridge`: a second profile, in socket mode, so both modes serve one host (bridge on `profile.name`, socket on this one). null: none.',
      ),
  })
  .describe(
    'Socket mode: an LXD proxy device `listen=tcp:127.0.0.1:PORT connect=unix:PATH bind=container`, and no NIC.',
  );

export const hostConfigSchema = z
  .strictObject({
    mode: z
      .enum(['bridge', 'socket'])
      .default('bridge')
      .describe(
        "How containers on `profile` reach the proxy. `bridge`: a NIC on the link-local bridge (the seed's design). `socket`: no NIC, an LXD proxy device to cuttle's unix socket (see `socket`); no bridge, no nftables table.",
      ),
    lxd_socket: absPath
      .optional()
      .describe(
        "LXD's unix socket; default: `$LXD_SOCKET`, `$LXD_DIR/unix.socket`, the snap's, the deb's, Incus's.",
      ),
    pool: poolSchema.default(poolSchema.parse({})),
    bridge: bridgeSchema.default(bridgeSchema.parse({})),
    profile: profileSchema.default(profileSchema.parse({})),
    proxy: proxySchema.default(proxySchema.parse({})),
    firewall: firewallSchema.default(firewallSchema.parse({})),
    apt_pin: aptPinSchema.default(aptPinSchema.parse({})),
    unit: unitSchema.default(unitSchema.parse({})),
    socket: socketSchema.default(socketSchema.parse({})),
  })
  .superRefine((c, ctx) => {
    if (c.mode === 'socket' && c.socket.profile !== null)
      ctx.addIssue({
        code: 'custom',
        path: ['socket', 'profile'],
        message:
          'only with `mode: bridge` (a second profile in socket mode); with `mode: socket`, `profile` is already in socket mode',
      });
    if (c.socket.profile !== null && c.socket.profile === c.profile.name)
      ctx.addIssue({
        code: 'custom',
        path: ['socket', 'profile'],
        message: '`profile.name` is the bridge-mode profile: name another profile',
      });
  })
  .describe('host.yaml: what `cuttle-provision` converges an LXD host to.');

/** A validated host.yaml with every default applied. */
export type HostConfig = z.output<typeof hostConfigSchema>;

/** How one profile's containers reach the proxy. */
export type ProfileMode = 'bridge' | 'socket';

/** A profile cuttle-provision manages, with its mode. */
export interface ManagedProfile {
  readonly name: string;
  readonly mode: ProfileMode;
}

/** Every managed profile: `profile.name` in `mode`, then `socket.profile` (socket mode) when set. */
export function managedProfiles(config: HostConfig): ManagedProfile[] {
  const out: ManagedProfile[] = [{ name: config.profile.name, mode: config.mode }];
  if (config.socket.profile !== null) out.push({ name: config.socket.profile, mode: 'socket' });
  return out;
}

/** True when the host has the bridge (and its firewall table): `mode: bridge`. */
export function usesBridge(config: HostConfig): boolean {
  return config.mode === 'bridge';
}

/** True when some profile is in socket mode: the proxy listens on `socket.path`. */
export function usesSocket(config: HostConfig): boolean {
  return config.mode === 'socket' || config.socket.profile !== null;
}

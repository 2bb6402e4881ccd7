/**
 * Per-instance proxy devices (`identity --watch --socket-dir DIR`): every instance that opted in
 * (`user.cuttle.socket: "true"`, on the instance or a profile) gets, in its own devices, the device
 *
 *   DEVICE: {type: proxy, listen: tcp:127.0.0.1:3128, connect: unix:DIR/NAME.sock, bind: container}
 *
 * so `127.0.0.1:3128` inside it reaches the proxy's socket for that instance and no other: the socket is the
 * identity, and the container cannot change the host-side end. DEVICE defaults to `cuttle`, the name provisioning
 * gives the shared socket's device in a `mode: socket` profile: a device of the instance's own overrides the
 * profile's device of the same name, so an opted-in instance of that profile gets its own socket instead of the
 * shared one. A device pointing elsewhere (renamed instance, changed DIR) is rewritten; an instance that no longer
 * opts in loses the device, but only if it is ours (a proxy device connecting into DIR). A deleted instance takes
 * its devices with it; its map line goes with the next sync.
 */
import type { LxdClient } from '../lxd/client.js';
import { type LxdInstance, wantsSocket } from './collect.js';

/** The device's default name (the same as provisioning's socket-mode profile device). */
export const SOCKET_DEVICE = 'cuttle';

/** What the container connects to: `http_proxy=http://127.0.0.1:3128`. */
export const SOCKET_DEVICE_LISTEN = 'tcp:127.0.0.1:3128';

/** The device an instance named `name` gets for the socket directory `dir`. */
export function socketDevice(dir: string, name: string): Record<string, string> {
  return {
    type: 'proxy',
    listen: SOCKET_DEVICE_LISTEN,
    connect: `unix:${dir.replace(/\/+$/, '')}/${name}.sock`,
    bind: 'container',
  };
}

function sameDevice(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  if (a === undefined) return false;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}

/** The writable part of an instance (what PUT /1.0/instances/NAME takes), with `devices` replaced. */
interface InstancePut {
  architecture?: string;
  config?: Record<string, string>;
  devices?: Record<string, Record<string, string>>;
  ephemeral?: boolean;
  profiles?: string[];
  stateful?: boolean;
  description?: string;
}

/** A local device this watcher wrote: a proxy device connecting into `dir`. */
function isOurs(d: Record<string, string> | undefined, dir: string): boolean {
  return d?.type === 'proxy' && (d.connect ?? '').startsWith(`unix:${dir.replace(/\/+$/, '')}/`);
}

/**
 * Adds, rewrites or removes the device `device` of every instance in `instances` so that exactly the opted-in
 * ones have `socketDevice(dir, name)` among their own devices. Returns one line per change. An instance that
 * cannot be updated (deleted in between, say) is reported in the lines and the others go on.
 */
export async function syncSocketDevices(
  client: LxdClient,
  dir: string,
  instances: readonly LxdInstance[],
  device: string = SOCKET_DEVICE,
): Promise<string[]> {
  const said: string[] = [];
  for (const inst of instances) {
    const have = inst.devices?.[device];
    const want = wantsSocket(inst) ? socketDevice(dir, inst.name) : undefined;
    if (want === undefined ? !isOurs(have, dir) : sameDevice(have, want)) continue;
    const path = `/1.0/instances/${encodeURIComponent(inst.name)}`;
    try {
      await client.update<InstancePut>(path, (cur) => {
        const devices = { ...(cur.devices ?? {}) };
        if (want === undefined) delete devices[device];
        else devices[device] = want;
        return {
          architecture: cur.architecture,
          config: cur.config,
          devices,
          ephemeral: cur.ephemeral,
          profiles: cur.profiles,
          stateful: cur.stateful,
          description: cur.description,
        } satisfies InstancePut;
      });
      said.push(
        want === undefined
          ? `instance ${inst.name}: removed device ${device} (no longer opted in)`
          : `instance ${inst.name}: device ${device} connects to ${want.connect}`,
      );
    } catch (err) {
      said.push(`instance ${inst.name}: cannot update device ${device}: ${(err as Error).message}`);
    }
  }
  return said;
}

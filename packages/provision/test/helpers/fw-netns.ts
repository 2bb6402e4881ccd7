/**
 * A stand-in host for the firewall test, entirely inside network namespaces so the table never touches the real
 * host: `cpv-fwh-*` (the host) holds bridge `cpvfwbr` with fe80::1 and a second link `cpvfwx` that also holds
 * fe80::1 (another bridge); `cpv-fwa` sits on the bridge, `cpv-fwb` on the other link. Each client's interface is
 * eth0. `remove` never throws.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';

// Namespace names are host-wide: the pid keeps two runs at once apart. Links live inside the namespaces.
const RUN = process.pid.toString(36);
export const FW_HOST_NS = `cpv-fwh-${RUN}`;
export const FW_BRIDGE = 'cpvfwbr';
const NS_A = `cpv-fwa-${RUN}`;
const NS_B = `cpv-fwb-${RUN}`;

const ip = (...args: string[]): void => {
  execFileSync('ip', args, { stdio: 'pipe' });
};
const inHost = (...args: string[]): void => ip('netns', 'exec', FW_HOST_NS, ...args);

function waitNotTentative(ns: string, dev: string): void {
  for (let i = 0; i < 50; i++) {
    const out = execFileSync('ip', ['-n', ns, '-6', 'addr', 'show', 'dev', dev], { encoding: 'utf8' });
    if (/fe80::/.test(out) && !/tentative/.test(out)) return;
    execFileSync('sleep', ['0.2']);
  }
  throw new Error(`${ns}/${dev}: link-local address stayed tentative`);
}

export function removeFirewallNetns(): void {
  for (const ns of [NS_A, NS_B, FW_HOST_NS]) {
    try {
      ip('netns', 'del', ns);
    } catch {}
  }
}

/** Builds the namespaces. */
export function createFirewallNetns(): void {
  removeFirewallNetns();
  for (const ns of [FW_HOST_NS, NS_A, NS_B]) {
    ip('netns', 'add', ns);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
  }
  inHost('ip', 'link', 'add', FW_BRIDGE, 'type', 'bridge');
  inHost('ip', 'link', 'set', FW_BRIDGE, 'up');
  inHost('ip', '-6', 'addr', 'add', 'fe80::1/64', 'dev', FW_BRIDGE, 'nodad');
  ip('-n', FW_HOST_NS, 'link', 'add', 'cpvfwa-h', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS_A);
  inHost('ip', 'link', 'set', 'cpvfwa-h', 'master', FW_BRIDGE, 'up');
  ip('-n', FW_HOST_NS, 'link', 'add', 'cpvfwx', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS_B);
  inHost('ip', 'link', 'set', 'cpvfwx', 'up');
  inHost('ip', '-6', 'addr', 'add', 'fe80::1/64', 'dev', 'cpvfwx', 'nodad');
  for (const ns of [NS_A, NS_B]) ip('netns', 'exec', ns, 'ip', 'link', 'set', 'eth0', 'up');
  waitNotTentative(NS_A, 'eth0');
  waitNotTentative(NS_B, 'eth0');
}

/** Listens in the host namespace on [::]:port for each TCP port and on UDP [::]:53 (answers "pong"). */
export async function startHostListeners(tcpPorts: number[]): Promise<ChildProcess> {
  const script = `
const net = require('node:net'); const dgram = require('node:dgram');
let n = 0; const ports = ${JSON.stringify(tcpPorts)};
const done = () => { if (++n === ports.length + 1) console.log('ready'); };
for (const p of ports) net.createServer((s) => s.end('hello ' + p)).listen({ host: '::', port: p }, done);
const u = dgram.createSocket('udp6'); u.on('message', (m, r) => u.send('pong', r.port, r.address)); u.bind(53, '::', done);`;
  const child = spawn('ip', ['netns', 'exec', FW_HOST_NS, process.execPath, '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`listeners exited ${code}`)));
  });
  return child;
}

/** From client `which` ('bridge' or 'other'), TCP to fe80::1%eth0:port: 'open' or 'closed'. */
export function probeTcp(which: 'bridge' | 'other', port: number): Promise<string> {
  const script = `const s = require('node:net').connect({ host: 'fe80::1%eth0', port: ${port} });
s.setTimeout(1500, () => { console.log('closed'); process.exit(0); });
s.on('data', () => { console.log('open'); process.exit(0); }); s.on('error', () => { console.log('closed'); process.exit(0); });`;
  return runIn(which === 'bridge' ? NS_A : NS_B, script);
}

/** From the bridge client, a UDP datagram to [fe80::1%eth0]:53: 'open' when answered. */
export function probeUdp53(): Promise<string> {
  const script = `const u = require('node:dgram').createSocket('udp6');
u.on('message', () => { console.log('open'); process.exit(0); });
setTimeout(() => { console.log('closed'); process.exit(0); }, 1500); u.send('ping', 53, 'fe80::1%eth0');`;
  return runIn(NS_A, script);
}

function runIn(ns: string, script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'ip',
      ['netns', 'exec', ns, process.execPath, '-e', script],
      { encoding: 'utf8', timeout: 10_000 },
      (err, out) => (err ? reject(err) : resolve(out.trim())),
    );
  });
}

/** Runs nft in the host namespace. */
export function nftInHost(args: string[]): void {
  inHost('nft', ...args);
}

/** The bridge client's NIC as the bridge guard knows it: its MAC and EUI-64 link-local address. */
export function bridgeClientNic(): { name: string; mac: string; address: string } {
  const out = execFileSync('ip', ['-n', NS_A, '-o', 'link', 'show', 'dev', 'eth0'], { encoding: 'utf8' });
  const mac = /link\/ether (\S+)/.exec(out)?.[1] ?? '';
  const addr = execFileSync('ip', ['-n', NS_A, '-6', '-o', 'addr', 'show', 'dev', 'eth0', 'scope', 'link'], {
    encoding: 'utf8',
  });
  return { name: 'a', mac, address: /inet6 (\S+)\//.exec(addr)?.[1] ?? '' };
}

/** Runs an nft script in the host namespace. */
export function nftScriptInHost(script: string): void {
  execFileSync('ip', ['netns', 'exec', FW_HOST_NS, 'nft', '-f', '-'], {
    input: script,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/**
 * Closed-loop load with wrk. wrk has no proxy option: a Lua script sends absolute-form requests to the proxy's
 * address (the direct baseline gets the very same bytes, which nginx accepts). `denyEvery` > 0 sends every n-th
 * request to the denied name.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  readonly reqPerSec: number;
  readonly non2xx: number;
  readonly socketErrors: number;
}

export interface WrkOptions {
  readonly dir: string;
  readonly port: number;
  readonly host: string;
  readonly deniedHost: string;
  readonly originPort: number;
  readonly path: string;
  readonly connections: number;
  readonly durationS: number;
  /** 0: all requests allowed; 5: every 5th to the denied name (20%). */
  readonly denyEvery: number;
}

function luaScript(o: WrkOptions): string {
  const req = (host: string) =>
    `wrk.format("GET", "http://${host}:${o.originPort}${o.path}", { ["Host"] = "${host}:${o.originPort}" })`;
  return `-- written by the cuttle bench
local ok, deny
local n = 0
init = function(args)
  ok = ${req(o.host)}
  deny = ${req(o.deniedHost)}
end
request = function()
  ${o.denyEvery > 0 ? `n = n + 1\n  if n % ${o.denyEvery} == 0 then return deny end` : ''}
  return ok
end
`;
}

/** Parses wrk's text summary. */
export function parseWrk(text: string): WrkResult {
  const m = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(text);
  if (!m) throw new Error(`cannot read wrk's output:\n${text}`);
  const unit = { us: 1e-6, ms: 1e-3, s: 1, m: 60 }[m[3] as 'us' | 'ms' | 's' | 'm'];
  const requests = Number(m[1]);
  const seconds = Number(m[2]) * unit;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = se ? se.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  return { requests, seconds, reqPerSec: requests / seconds, non2xx, socketErrors };
}

/** Runs wrk once (on the calling process's CPU set) and returns its summary. */
export async function runWrk(o: WrkOptions): Promise<WrkResult> {
  const script = join(o.dir, `wrk-${o.denyEvery}.lua`);
  writeFileSync(script, luaScript(o));
  const args = [
    '-t1',
    `-c${o.connections}`,
    `-d${o.durationS}s`,
    '--timeout',
    '5s',
    '-s',
    script,
    `http://127.0.0.1:${o.port}/`,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`wrk exited ${code}:\n${out}`));
      else {
        try {
          resolve(parseWrk(out));
        } catch (err) {
          reject(err);
        }
      }
    });
  });
}

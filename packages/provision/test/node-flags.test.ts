/**
 * The Node flags every launch of the proxy carries (`PROXY_NODE_FLAGS`: the unit, the manual start, the npm bin,
 * `pnpm cuttle`): the running daemon's command line has them and the Node running this suite (CI: 20 and 24)
 * accepts them; its metrics show at least the 16 MiB semi-space they ask for (V8's own grows to that during
 * start-up too, so the command line is what proves the flags); host.yaml can set others or none.
 */
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { startProxy } from '@cuttle/test-support';
import { describe, expect, it } from 'vitest';
import { loadHostConfig } from '../src/host-config/load-host-config.js';
import { PROXY_NODE_FLAGS } from '../src/host-config/package-paths.js';
import { manualStartCommands } from '../src/render/manual-start.js';
import { renderPackageUnit, renderUnitDropIn } from '../src/render/systemd-unit.js';

const MIB = 1024 * 1024;

function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

describe('the Node flags of the proxy launch', () => {
  it('reach the running daemon: its command line has them, its metrics show a new space of 16 MiB at least', async () => {
    await using proxy = await startProxy(
      { metrics: { listen: '127.0.0.1:0' } },
      { nodeFlags: PROXY_NODE_FLAGS },
    );
    const m = await proxy.waitForStderr(/metrics on \S+:(\d+)/);
    const cmdline = readFileSync(`/proc/${proxy.child.pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline.slice(1, 1 + PROXY_NODE_FLAGS.length)).toEqual(PROXY_NODE_FLAGS);
    // Node accepted them (a flag it does not know stops it before the listener: "bad option").
    expect(proxy.stderr()).not.toMatch(/bad option|is not allowed/);
    const text = await scrape(Number(m[1]));
    const line = /^nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)$/m.exec(text);
    expect(line, text.slice(0, 400)).not.toBeNull();
    expect(Number(line?.[1])).toBeGreaterThanOrEqual(16 * MIB);
  });

  it('are on every launch line: the unit, the manual start, `pnpm cuttle`', () => {
    const flags = PROXY_NODE_FLAGS.join(' ');
    expect(renderPackageUnit()).toContain(
      `ExecStart=/usr/lib/cuttle/node ${flags} /usr/lib/cuttle/cuttle.mjs run`,
    );
    expect(manualStartCommands(loadHostConfig('mode: socket\n', 'h.yaml')).at(-1)).toBe(
      `/usr/lib/cuttle/node ${flags} /usr/lib/cuttle/cuttle.mjs run --config /etc/cuttle/cuttle.yaml`,
    );
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.cuttle).toBe(`node ${flags} packages/proxy/dist/cli/main.js`);
  });

  it('host.yaml sets others or none (`proxy.node_flags`), and the drop-in then repeats the command', () => {
    const none = loadHostConfig('proxy: {node_flags: []}\n', 'h.yaml');
    expect(renderUnitDropIn(none)).toContain(
      'ExecStart=\nExecReload=\nExecStart=/usr/lib/cuttle/node /usr/lib/cuttle/cuttle.mjs run --config /etc/cuttle/cuttle.yaml\n',
    );
    const other = loadHostConfig('proxy: {node_flags: [--max-old-space-size=256]}\n', 'h.yaml');
    expect(manualStartCommands(other).at(-1)).toBe(
      '/usr/lib/cuttle/node --max-old-space-size=256 /usr/lib/cuttle/cuttle.mjs run --config /etc/cuttle/cuttle.yaml',
    );
    expect(renderUnitDropIn(loadHostConfig('{}\n', 'h.yaml'))).not.toContain('ExecStart=');
  });

  it('refuses a flag with a space or a quote in it, naming file:line and the key', () => {
    expect(() => loadHostConfig('proxy:\n  node_flags: ["--a b"]\n', 'h.yaml')).toThrow(
      /h\.yaml:2:\d+: proxy\.node_flags\[0\]: one Node or V8 option per item/,
    );
    expect(() => loadHostConfig('proxy:\n  node_flags: [max-old-space-size=1]\n', 'h.yaml')).toThrow(
      /h\.yaml:2:\d+: proxy\.node_flags\[0\]/,
    );
  });
});

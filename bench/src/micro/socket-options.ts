/**
 * The smallest program behind cuttle's upstream socket options (packages/proxy/src/upstream/connect-addresses.ts):
 * `new net.Socket(options)` with the options cuttle passed until 2026-12-04 and with the ones it passes now
 * (`upstreamSocketOptions`: the three keys net.Socket adds to its copy already there). Run it under each Node:
 *
 *   node bench/dist/micro/socket-options.js [--json]
 *
 * On Node 20 (V8 11.3) a spread copy (`{ ...options }`) that then gets a new key has a new hidden class every time,
 * so every inline cache the options reach afterwards misses; the second form adds no key.
 */
import { execFileSync } from 'node:child_process';
import { type OnReadOpts, Socket, type SocketConstructorOpts } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROUNDS = 5;
const PER_ROUND = 50_000;

const READ_BUFFER = Buffer.alloc(4096);
const onread = { buffer: READ_BUFFER, callback: () => true };

/** What cuttle passed until 2026-12-04. */
function before(): Socket {
  return new Socket({
    host: '127.0.0.1',
    port: 1,
    allowHalfOpen: true,
    noDelay: true,
    ...{ onread },
  } as ConstructorParameters<typeof Socket>[0]);
}

/** The options cuttle passes now: its own function, from the proxy's build (`pnpm build` first). */
const { upstreamSocketOptions } = (await import(
  new URL('../../../packages/proxy/dist/upstream/connect-addresses.js', import.meta.url).href
)) as { upstreamSocketOptions: (host: string, port: number, onread: OnReadOpts) => SocketConstructorOpts };

function after(): Socket {
  return new Socket(upstreamSocketOptions('127.0.0.1', 1, onread));
}

/** Median ns per construction over ROUNDS rounds. */
function measure(make: () => Socket): number {
  const rounds: number[] = [];
  let keep: Socket | null = null;
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < PER_ROUND; i++) keep = make();
    rounds.push(Number(process.hrtime.bigint() - start) / PER_ROUND);
  }
  if (keep === null) throw new Error('nothing constructed');
  rounds.sort((a, b) => a - b);
  return rounds[ROUNDS >> 1] as number;
}

const FORMS = { before, after } as const;
type Form = keyof typeof FORMS;

// One form per child process: the inline caches one form leaves megamorphic would slow the other in the same one.
const only = process.argv[process.argv.indexOf('--form') + 1];
if (process.argv.includes('--form')) {
  if (only !== 'before' && only !== 'after') throw new Error(`--form wants before or after, got "${only}"`);
  console.log(measure(FORMS[only as Form]).toFixed(0));
} else {
  const ns: Record<Form, number[]> = { before: [], after: [] };
  for (let pair = 0; pair < 3; pair++) {
    // Alternating which goes first.
    for (const form of (pair % 2 === 0 ? ['before', 'after'] : ['after', 'before']) as Form[]) {
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--form', form]);
      ns[form].push(Number(out.toString().trim()));
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
  const result = { node: process.version, beforeNs: median(ns.before), afterNs: median(ns.after) };
  if (process.argv.includes('--json')) console.log(JSON.stringify(result));
  else
    console.log(
      `${result.node}: new Socket(options as before) ${result.beforeNs} ns, with emitClose/autoDestroy/decodeStrings ${result.afterNs} ns (median of 3 processes each)`,
    );
}

/**
 * CONNECT failures after an allow: each gets its status line, never a silent close, and the 200 is only sent once
 * the upstream connection is up. The timeout target is a loopback listener whose accept queue is full: the
 * kernel drops further SYNs, so a connect hangs without any outside address involved.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closedPort,
  headerOf,
  type RecordingServer,
  readAll,
  sendConnect,
  startRecordingServer,
  startTestProxy,
  type TestProxy,
} from './tunnel-harness.js';

/**
 * A listener on 127.0.0.1 that never accepts: a worker binds it with backlog 1 and then blocks its own event loop
 * in Atomics.wait, so connections pile up in the kernel's accept queue until it is full.
 */
async function startBlackhole(): Promise<{ port: number; fillers: Socket[]; stop: () => Promise<void> }> {
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const server = require('node:net').createServer();
     server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
       parentPort.postMessage(server.address().port);
       Atomics.wait(workerData, 0, 0);
       server.close();
     });`,
    { eval: true, workerData: signal },
  );
  const [port] = (await once(worker, 'message')) as [number];
  // Fill the accept queue: connections complete in the kernel until it is full, then SYNs are dropped.
  const fillers: Socket[] = [];
  for (let i = 0; i < 8; i++) {
    const s = connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    fillers.push(s);
    const connected = await Promise.race([
      once(s, 'connect').then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 300)),
    ]);
    if (!connected) break;
  }
  return {
    port,
    fillers,
    stop: async () => {
      for (const s of fillers) s.destroy();
      Atomics.store(signal, 0, 1);
      Atomics.notify(signal, 0);
      await worker.terminate();
    },
  };
}

describe('CONNECT upstream failures', () => {
  let origin: RecordingServer;
  let refusedPort: number;
  let blackhole: Awaited<ReturnType<typeof startBlackhole>>;
  let proxy: TestProxy;

  beforeAll(async () => {
    origin = await startRecordingServer('127.0.0.1');
    refusedPort = await closedPort();
    blackhole = await startBlackhole();
    const deadDns = await closedPort();
    proxy = await startTestProxy({
      clients: ['127.0.0.0/8'],
      connect_ports: [origin.port, refusedPort, blackhole.port],
      allow: ['.test'],
      dns: {
        hosts: {
          'refused.test': ['127.0.0.1'],
          'slow.test': ['127.0.0.1'],
          // The first answer refuses (nothing listens on 127.0.0.3 at that port), the second accepts.
          'second.test': ['127.0.0.3', '127.0.0.1'],
        },
        servers: [`127.0.0.1:${deadDns}`],
      },
      destinations: { allow_ranges: ['127.0.0.1/32', '127.0.0.3/32'] },
      timeouts: { upstream_connect_ms: 400, dns_ms: 500 },
      connect: { require_sni: false },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
    await blackhole?.stop();
  });

  it('answers 502 upstream_refused when the origin refuses', async () => {
    const before = proxy.records.length;
    const answer = await sendConnect(proxy.port, `refused.test:${refusedPort}`);
    await readAll(answer.socket, answer.rest);
    expect(answer.status).toBe(502);
    expect(headerOf(answer.head, 'X-Cuttle-Error')).toBe('upstream_refused');
    expect(await proxy.record(before)).toMatchObject({
      verdict: 'error',
      reason: 'upstream_refused',
      status: 502,
    });
  });

  it('answers 504 upstream_timeout when the connect does not complete in time', async () => {
    const before = proxy.records.length;
    const answer = await sendConnect(proxy.port, `slow.test:${blackhole.port}`);
    await readAll(answer.socket, answer.rest);
    expect(answer.status).toBe(504);
    expect(headerOf(answer.head, 'X-Cuttle-Error')).toBe('upstream_timeout');
    expect(await proxy.record(before)).toMatchObject({ reason: 'upstream_timeout', status: 504 });
  });

  it('tries the next checked address after a refusal', async () => {
    const before = proxy.records.length;
    const answer = await sendConnect(proxy.port, `second.test:${origin.port}`, 'x');
    expect(answer.status).toBe(200);
    answer.socket.end();
    await readAll(answer.socket, answer.rest);
    expect(await proxy.record(before)).toMatchObject({
      verdict: 'allow',
      upstream: `127.0.0.1:${origin.port}`,
    });
  });

  it('answers 502 with a DNS body when the name does not resolve', async () => {
    const before = proxy.records.length;
    const answer = await sendConnect(proxy.port, `nowhere.test:${origin.port}`);
    const body = (await readAll(answer.socket, answer.rest)).toString();
    expect(answer.status).toBe(502);
    expect(body).toMatch(/DNS/);
    expect(['dns_failure', 'dns_timeout']).toContain((await proxy.record(before)).reason);
  });

  it('records a client that leaves while the connect is pending, and closes the upstream attempt', async () => {
    const before = proxy.records.length;
    const socket = connect({ host: '127.0.0.1', port: proxy.port });
    socket.on('error', () => {});
    await once(socket, 'connect');
    socket.write(`CONNECT slow.test:${blackhole.port} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    const rec = await proxy.record(before);
    expect(rec).toMatchObject({ status: 0, closeReason: 'client_end' });
  });
});

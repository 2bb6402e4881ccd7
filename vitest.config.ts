import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const alias = {
  '@cuttle/shared': fileURLToPath(new URL('./packages/shared/src/index.ts', import.meta.url)),
  '@cuttle/test-support': fileURLToPath(new URL('./test-support/index.ts', import.meta.url)),
};

// One project per package. Tests that touch the system (namespaces, LXD, Squid) run their files one at a time.
// Two files at a time overall (vitest's default on 2 CPUs is one): most of a test's time is spent waiting on the
// child processes, sockets and daemons it drives, so the serial LXD files overlap with the proxy's (CI: a pass
// took about 620 s one file at a time).
export default defineConfig({
  resolve: { alias },
  test: {
    maxWorkers: 2,
    projects: [
      { resolve: { alias }, test: { name: 'shared', include: ['packages/shared/test/**/*.test.ts'] } },
      {
        resolve: { alias },
        test: {
          name: 'proxy',
          include: ['packages/proxy/test/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'provision',
          include: ['packages/provision/test/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'packaging',
          include: ['packaging/test/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
      {
        resolve: { alias },
        test: { name: 'bench', include: ['bench/test/**/*.test.ts'], testTimeout: 120_000 },
      },
    ],
  },
});

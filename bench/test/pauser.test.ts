/** The e2e bench's Pauser: a whole process tree is stopped, and every process of it continued again. */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { Pauser, processTree, procState as state } from '../src/e2e/system/processes.js';

const children: number[] = [];
afterEach(() => {
  for (const p of children.splice(0)) {
    try {
      process.kill(p, 'SIGCONT');
      process.kill(p, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

describe.skipIf(process.platform !== 'linux')('Pauser', () => {
  it('stops a process and its descendants, and continues all of them', async () => {
    const child = spawn('sh', ['-c', 'sleep 30 & sleep 30 & wait'], { stdio: 'ignore' });
    const pid = child.pid as number;
    children.push(pid);
    let tree: number[] = [];
    for (let i = 0; i < 50 && tree.length < 3; i++) {
      await new Promise((r) => setTimeout(r, 20));
      tree = processTree(pid);
    }
    children.push(...tree);
    expect(tree.length).toBe(3);
    const pauser = new Pauser();
    pauser.pause([pid]);
    expect(pauser.stopped).toBe(3);
    expect(tree.map(state)).toEqual(['T', 'T', 'T']);
    pauser.resumeAll();
    expect(pauser.stopped).toBe(0);
    expect(tree.map(state).filter((s) => s === 'T')).toEqual([]);
    pauser.dispose();
  });
});

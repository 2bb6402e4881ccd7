/**
 * Runs a command inside an instance through the REST API (no `lxc` needed): exec without websockets, output
 * recorded to logs, then the logs read and deleted.
 */
import type { LxdClient } from './client.js';

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `command` inside instance `name`; resolves with its exit code and output. */
export async function execInInstance(
  client: LxdClient,
  name: string,
  command: string[],
  environment: Record<string, string> = {},
): Promise<ExecResult> {
  const { metadata } = await client.request<{ return?: number; output?: Record<string, string> }>(
    'POST',
    `/1.0/instances/${encodeURIComponent(name)}/exec`,
    { command, environment, 'wait-for-websocket': false, 'record-output': true, interactive: false },
  );
  const out = metadata?.output ?? {};
  const read = async (fd: string): Promise<string> => {
    const path = out[fd];
    if (path === undefined) return '';
    const text = await client.getText(path);
    await client.request('DELETE', path).catch(() => undefined);
    return text;
  };
  return { code: metadata?.return ?? -1, stdout: await read('1'), stderr: await read('2') };
}

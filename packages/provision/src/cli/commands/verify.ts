/** `cuttle-provision verify`: placeholder, filled in below. */
import type { CommandContext } from '../context.js';
export const VERIFY_HELP = 'usage: cuttle-provision verify --config host.yaml [--instance NAME]\n';
export async function verifyCommand(_ctx: CommandContext): Promise<number> {
  return 3;
}

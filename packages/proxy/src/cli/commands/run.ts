/** `cuttle run --config FILE`: runs the proxy in the foreground. Owned by the proxy core; stub until then. */
export async function runCommand(_argv: string[]): Promise<number> {
  process.stderr.write('cuttle run: not implemented yet\n');
  return 3;
}

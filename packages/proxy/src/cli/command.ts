/** What every `cuttle` command provides to main.ts: its usage text and a runner resolving to the exit code. */
export interface Command {
  readonly name: string;
  /** One line for `cuttle --help`. */
  readonly summary: string;
  /** Full `--help` text (starts with `usage:`). */
  readonly help: string;
  run(argv: string[]): Promise<number>;
}

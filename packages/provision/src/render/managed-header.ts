/** The first lines of every file cuttle-provision writes: `remove` only deletes files that still carry them. */
export const MANAGED_MARK = 'Managed by cuttle-provision';

/** The header in the comment syntax of the file (`#` for all of ours). */
export const MANAGED_HEADER = (comment: string): string =>
  `${comment} ${MANAGED_MARK} from host.yaml; edit host.yaml and run \`cuttle-provision apply\`.\n`;

/** One problem found while compiling a config into a policy, located by its key path (`['allow', 3]`). */
import { CuttleError } from '../errors.js';
export interface PolicyIssue {
  readonly path: readonly (string | number)[];
  readonly value: string;
  readonly message: string;
}

/**
 * Thrown by `compilePolicy` with every issue found (not only the first). The config loader maps each `path` to
 * file:line:col through the YAML document.
 */
export class PolicyCompileError extends CuttleError {
  override readonly name = 'PolicyCompileError';
  readonly code = 'CUTTLE_ERR_POLICY';
  readonly issues: readonly PolicyIssue[];

  constructor(issues: readonly PolicyIssue[]) {
    super(issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    this.issues = issues;
  }
}

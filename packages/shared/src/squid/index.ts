export { SquidImportError, type SquidIssue } from '../errors.js';
export { parseHostsFile } from './hosts-file.js';
export {
  DEFAULT_BARE_LISTEN,
  type ImportedSquid,
  type ImportSquidOptions,
  importSquid,
} from './import-squid.js';
export { parseSquidConf, type SquidDirective } from './parse-squid-conf.js';

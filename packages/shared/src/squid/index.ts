export { SquidImportError, type SquidIssue } from '../errors.js';
export { DIRECTIVES, type DirectiveClass, renderDirectiveTable } from './directives.js';
export { parseHostsFile } from './hosts-file.js';
export {
  analyzeSquid,
  DEFAULT_BARE_LISTEN,
  type ImportedSquid,
  type ImportSquidOptions,
  importSquid,
  type ReportEntry,
  type SquidAnalysis,
} from './import-squid.js';
export {
  readListFile,
  readSquidConf,
  type SquidDirective,
  type SquidFiles,
  tokenize,
} from './read-squid-conf.js';
export { renderHostYaml, renderReport } from './render-outputs.js';

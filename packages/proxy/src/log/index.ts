export {
  type AccessJsonFields,
  formatSquidLine,
  squidHierarchy,
  squidResultCode,
  squidUrl,
  stripQuery,
  toJsonFields,
} from './access-line.js';
export { type AccessSink, type AccessSinkOptions, createAccessSink } from './access-sink.js';
export { type ParsedAccessLine, parseAccessLine } from './parse-access-line.js';

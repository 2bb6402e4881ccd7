// Connecting out: to checked origin addresses, or through the parent proxy of `upstream`.
export {
  type ConnectAddressesOptions,
  type ConnectResult,
  connectAddresses,
  formatHostPort,
} from './connect-addresses.js';
export {
  connectViaParent,
  type ParentConnectOptions,
  type ParentConnectResult,
  parentConnectHead,
} from './parent-connect.js';
export {
  type ParentProxy,
  ParentProxyError,
  parentProxyOf,
  parseParentProxy,
  redactParentUrl,
} from './parent-proxy.js';
export { absoluteTarget, type ParentRequestTarget } from './request-options.js';

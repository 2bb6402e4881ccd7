export { formatIpAddress, type IpAddress, parseIpAddress, unmapIpv4 } from './address.js';
export {
  type AddressRange,
  AddressRangeError,
  AddressRangeSet,
  parseAddressRange,
  rangeContains,
} from './cidr.js';
export { type GuardCategory, type GuardEmbedding, type GuardResult, isGuardedAddress } from './guard.js';
export { formatIpv4, parseIpv4Literal, parseIpv4Strict } from './ipv4.js';
export { formatIpv6, isValidZone, parseIpv6 } from './ipv6.js';
export { PortSet, type PortSpec, parsePortSpec, validatePortSpec } from './port-set.js';
export { isSelfLoop, type SelfEndpoint } from './self-loop.js';

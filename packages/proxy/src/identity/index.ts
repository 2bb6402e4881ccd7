export {
  EMPTY_IDENTITY,
  eui64LinkLocal,
  type IdentityEntry,
  type IdentityMap,
  identify,
  parseIdentityMap,
} from './identity-map.js';
export { followIdentityMap, type IdentitySource } from './identity-source.js';

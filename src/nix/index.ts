export { Nix, detectNixVersion, type NixSettings, type BuildOptions, type PathInfoOptions, type EvalOptions, type CopyOptions } from './nix.js';
export type { BuildOutcome, BuildSuccess, BuildFailure } from './build-report.js';
export { NixCommandError, NixNotFoundError } from './errors.js';
export {
  parseNixVersion,
  formatNixVersion,
  nixAtLeast,
  supportsFlakeUpdateInputs,
  pathInfoJsonIsObject,
  supportsPathInfoJsonFormat,
  type NixVersion,
} from './version.js';
export {
  parsePathInfoJson,
  totalNarSize,
  sortByReferences,
  storePathHashPart,
  storePathBaseName,
  DEFAULT_STORE_DIR,
  type PathInfo,
  type ParsedPathInfos,
} from './path-info.js';
export {
  nix32Encode,
  nix32Decode,
  parseHash,
  parseAnyHash,
  toNix32Hash,
  formatNix32Hash,
  formatSriHash,
  formatBase16Hash,
  type Hash,
  type HashAlgorithm,
} from './hash.js';
export {
  parseFlakeLock,
  readLock,
  resolveLockInput,
  rootInputs,
  parseFlakeMetadata,
  type FlakeLock,
  type LockNode,
  type LockInputTarget,
  type FlakeRefAttrs,
  type FlakeMetadata,
} from './flake-lock.js';

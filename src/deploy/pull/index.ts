export {
  MANIFEST_ACTIONS,
  MANIFEST_FORMAT,
  ManifestError,
  canonicalManifestJson,
  formatTimestamp,
  manifestStorePath,
  signManifest,
  singleFileNar,
  validateManifest,
  verifySignedManifest,
  type Manifest,
  type ManifestAction,
  type SignedManifest,
} from './manifest.js';
export { POINTER_FORMAT, manifestPointerKey, parsePointer, renderPointer, type ManifestPointer } from './pointer.js';
export {
  DEFAULT_MANIFEST_LIFETIME_MS,
  MANIFEST_LIFETIME_MAX,
  MANIFEST_LIFETIME_MIN,
  prepareManifestStore,
  publishManifest,
  readPreviousManifest,
  type ManifestRequest,
  type PreviousManifest,
  type PublishOptions,
  type PublishedManifest,
} from './publish.js';
export {
  ROLLED_BACK_PREFIX,
  classifyReport,
  readReport,
  waitForConvergence,
  type ConvergenceReport,
  type ConvergenceTarget,
  type HostConvergence,
  type WaitOptions,
} from './converge.js';
export { PullTransport, type PullTransportOptions } from './transport.js';

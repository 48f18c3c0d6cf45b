export { AsgTransport, type AsgClients, type AsgTransportOptions } from './transport.js';
export { planRefresh, type RefreshPlan, type RefreshPlanInput } from './preferences.js';
export { AsgError, describeGroup, desiredConfiguration, prepareLaunchTemplateVersion, type GroupInfo, type PreparedVersion } from './launch-template.js';
export { describeInstanceRefresh, refreshOutcome, startInstanceRefresh, waitForInstanceRefresh, type RefreshEnd, type WaitRefreshOptions } from './refresh.js';
export { FLEET_TAG_KEYS, MAX_TAG_VALUE, TAG_COMMIT, TAG_HOST, TAG_SUBSTITUTERS, TAG_SYSTEM, TAG_TRUSTED_PUBLIC_KEYS, instanceTagValue, mergeTagSpecifications, metadataOptionsWithTags, systemTags } from './tags.js';
export { awsErrorMessage } from './errors.js';

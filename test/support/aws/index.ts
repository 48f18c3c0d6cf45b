export { AutoScalingAccount, type GroupSetup, type RefreshVerdict, type TemplateData } from './auto-scaling.js';
export { SsmAccount, type CommandDocument, type ManagedInstance } from './ssm.js';
export { startAwsMock, type AwsCall, type AwsMock, type AwsMockOptions, type AwsService, type KnownCredentials } from './server.js';
export { documentScript, managedInstanceOn } from './ssm-agent.js';

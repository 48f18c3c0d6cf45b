export { deploy, planDeploy, type DeployPlan, type DeployReport, type DeployRequest } from './deploy.js';
export { DEFAULT_DEPLOY_SETTINGS, DEPLOY_ACTIONS, type DeployAction, type DeploySettings, type HealthCheck, type HostJob, type Transport } from './types.js';
export { parseDeployAction, parseHealthChecks, parseRollbackMode, resolveDeploySettings } from './settings.js';
export { remoteCommand, shellQuote } from './shell-quote.js';
export { SshTransport, type SshTransportOptions } from './ssh/transport.js';
export { SshConnectionError, SshSession, type SshSessionOptions } from './ssh/session.js';

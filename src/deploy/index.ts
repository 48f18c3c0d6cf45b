export { deploy, planDeploy, type DeployPlan, type DeployReport, type DeployRequest } from './deploy.js';
export { DEFAULT_DEPLOY_SETTINGS, DEPLOY_ACTIONS, type DeployAction, type DeploySettings, type HealthCheck, type HostJob, type Transport } from './types.js';
export {
  CONFIRM_TIMEOUT_MAX,
  CONFIRM_TIMEOUT_MIN,
  HEALTH_CHECK_EXAMPLE,
  HEALTH_CHECK_TIMEOUT_MAX,
  HEALTH_CHECK_TIMEOUT_MIN,
  parseDeployAction,
  parseHealthCheckLines,
  parseHealthChecks,
  parseRollbackMode,
  resolveDeploySettings,
  withDefaultTimeout,
  type HealthCheckLine,
} from './settings.js';
export { remoteCommand, shellQuote } from './shell-quote.js';
export { SshTransport, type SshTransportOptions } from './ssh/transport.js';
export { SshConnectionError, SshSession, type SshSessionOptions } from './ssh/session.js';

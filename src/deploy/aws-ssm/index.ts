export { SsmTransport, type SsmTransportOptions } from './transport.js';
export { DEPLOY_DOCUMENT_NAME, DOCUMENT_PATTERNS, EXIT_CODES, commandTargets, documentParameters, type DeployParameters } from './document.js';
export { classifyInvocation, parseDocumentOutput, summarizeInstances, type DocumentReport, type InstanceResult } from './invocations.js';
export { SsmError, describeCommand, listInvocations, sendCommand, waitForCommand, type CommandEnd, type WaitCommandOptions } from './command.js';
export { INSTANCE_HEADERS, instanceRows } from './format.js';

export * from './inputs.js';
export { actionLog } from './log.js';
export { readState, saveState, setOutputs } from './outputs.js';
export { readRunContext, type RunContext } from './github-context.js';
export { runAction } from './run.js';
export { assumeRoleForThisStep, type RoleRequest } from './aws.js';
export { JobSummary, escapeHtml, type Cell } from './summary.js';

export { mergeGroupEvent, mergeQueueBranch, pullRequestEvent, pushEvent, scheduleEvent, workflowDispatchEvent, type TriggerEvent } from './events.js';
export { loadWorkflow } from './load.js';
export { checkWorkflowPermissions, runWorkflow, type RunWorkflowOptions } from './run-workflow.js';
export type { JobRecord, RunnerSettings, StepRecord, WorkflowRunResult } from './types.js';

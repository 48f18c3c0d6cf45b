export { FAILURE_OUTCOMES, OUTCOMES, type HostResult, type Limit, type Outcome, type RolloutOptions } from './types.js';
export { formatLimit, parseLimit, resolveLimit } from './limits.js';
export { planRollout, type Batch, type RolloutPlan } from './plan.js';
export { executeRollout, type DeployOne, type ExecuteOptions, type RolloutReport } from './execute.js';
export { formatPlanMarkdown, formatPlanText, formatResultsMarkdown, formatResultsText, shortStorePath, type PlanDetails } from './format.js';

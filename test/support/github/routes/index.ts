import { commitRoutes } from './commits.js';
import { contentRoutes } from './contents.js';
import { deploymentRoutes } from './deployments.js';
import { gitDataRoutes } from './git-data.js';
import { issueRoutes } from './issues.js';
import { pullRoutes } from './pulls.js';
import { repoRoutes } from './repos.js';
import { statusRoutes } from './statuses.js';
import type { RouteTable } from './types.js';

/** Every REST operation the emulator implements, by GitHub's operationId. */
export const routes: RouteTable = {
  ...repoRoutes,
  ...gitDataRoutes,
  ...commitRoutes,
  ...contentRoutes,
  ...pullRoutes,
  ...issueRoutes,
  ...deploymentRoutes,
  ...statusRoutes,
};

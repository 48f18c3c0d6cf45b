export { GitHubEmulator, startGitHubEmulator, type FailOptions, type GitHubEmulatorOptions, type SeedOptions } from './emulator.js';
export type { BranchProtection, RepoSettings } from './core.js';
export type { SeedContent } from './git/repository.js';
export type { Access, TokenPermissions } from './permissions.js';
export { actionsCannotCreatePullRequestsMessage, integrationForbiddenMessage } from './permissions.js';
export type { RecordedRequest, Violation, ViolationKind } from './server.js';
export type { EmulatorState } from './state.js';

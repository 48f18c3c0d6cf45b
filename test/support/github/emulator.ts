import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmulatorCore, Urls, type BranchProtection, type RepoSettings } from './core.js';
import type { GitPerson } from './git/objects.js';
import { branchSha } from './git/refs.js';
import { BareRepository, type SeedContent } from './git/repository.js';
import type { TokenPermissions } from './permissions.js';
import { EmulatorServer, ENTERPRISE_SERVER, GITHUB_COM, type Fault, type RecordedRequest, type Violation } from './server.js';
import { runAutoMerges } from './services/pulls.js';
import type { EmulatorState, UserRecord } from './state.js';

export interface GitHubEmulatorOptions {
  owner?: string;
  repo?: string;
  defaultBranch?: string;
  ownerType?: 'Organization' | 'User';
  private?: boolean;
  /** An existing bare repository to serve; by default one is created in a temp dir and removed on stop. */
  bareRepo?: string;
  /** The token clients must send; a random `ghs_…` token by default. */
  token?: string;
  /** Files of the first commit on the default branch; `null` leaves the repository empty. */
  initialFiles?: Record<string, SeedContent> | null;
  allowMergeCommit?: boolean;
  allowSquashMerge?: boolean;
  allowRebaseMerge?: boolean;
  /** Off by default, as on GitHub. */
  allowAutoMerge?: boolean;
  deleteBranchOnMerge?: boolean;
  /** Branch protection by branch name (required commit status contexts). */
  protectedBranches?: Record<string, BranchProtection>;
  /** Logins that may be requested as reviewers; anyone when unset. */
  collaborators?: string[];
  permissions?: Partial<TokenPermissions>;
  /**
   * Served as GitHub Enterprise Server serves it: REST under /api/v3, GraphQL at /api/graphql, and
   * nothing at the root. Give `serverUrl` too (the GHES host's links).
   */
  enterprise?: boolean;
  /** Base of `html_url` links (GITHUB_SERVER_URL); `https://github.com` by default. */
  serverUrl?: string;
  /** The account the token acts as; `github-actions[bot]` by default. */
  actor?: { login: string; id?: number; type?: UserRecord['type']; name?: string; email?: string };
}

export interface SeedOptions {
  branch?: string;
  message?: string;
  /** Start a new branch from this revision (default: a root commit). */
  from?: string;
  author?: Pick<GitPerson, 'name' | 'email'>;
}

export interface FailOptions {
  /** How many matching requests fail (default 1). */
  times?: number;
  headers?: Record<string, string>;
}

const seedAuthor = { name: 'Fleet Test', email: 'fleet-test@example.com' };

/** GitHub's REST and GraphQL APIs for one repository, backed by a real bare git repository. */
export class GitHubEmulator {
  private constructor(
    readonly core: EmulatorCore,
    private readonly server: EmulatorServer,
    /** `http://127.0.0.1:PORT` (GHES: `…/api/v3`): Octokit's `baseUrl` and GITHUB_API_URL. */
    readonly apiUrl: string,
    /** `POST` target of GraphQL queries and GITHUB_GRAPHQL_URL (`…/graphql`; GHES: `…/api/graphql`). */
    readonly graphqlUrl: string,
    readonly token: string,
    private readonly ownedDir: string | undefined,
  ) {}

  static async start(options: GitHubEmulatorOptions = {}): Promise<GitHubEmulator> {
    const owner = options.owner ?? 'acme';
    const repo = options.repo ?? 'fleet';
    const defaultBranch = options.defaultBranch ?? 'main';
    const ownedDir = options.bareRepo ? undefined : await mkdtemp(join(tmpdir(), 'gh-emulator-'));
    const bare = await BareRepository.open(options.bareRepo ?? join(ownedDir as string, owner, `${repo}.git`), defaultBranch);
    const settings: RepoSettings = {
      owner, repo, defaultBranch,
      ownerType: options.ownerType ?? 'Organization',
      private: options.private ?? true,
      allowMergeCommit: options.allowMergeCommit ?? true,
      allowSquashMerge: options.allowSquashMerge ?? true,
      allowRebaseMerge: options.allowRebaseMerge ?? true,
      allowAutoMerge: options.allowAutoMerge ?? false,
      deleteBranchOnMerge: options.deleteBranchOnMerge ?? false,
      protectedBranches: options.protectedBranches ?? {},
      ...(options.collaborators ? { collaborators: options.collaborators } : {}),
    };
    const a = options.actor;
    const actorId = a?.id ?? 41898282;
    const actorLogin = a?.login ?? 'github-actions[bot]';
    const actor: UserRecord = {
      login: actorLogin,
      id: actorId,
      type: a?.type ?? (a ? 'User' : 'Bot'),
      name: a?.name ?? actorLogin,
      email: a?.email ?? `${actorId}+${actorLogin}@users.noreply.github.com`,
    };
    const core = new EmulatorCore(settings, bare, actor);
    core.permissions = { ...core.permissions, ...options.permissions };
    const token = options.token ?? `ghs_${randomBytes(18).toString('hex')}`;
    const mount = options.enterprise ? ENTERPRISE_SERVER : GITHUB_COM;
    const server = new EmulatorServer(core, token, mount);
    const origin = await server.listen();
    const apiUrl = `${origin}${mount.rest}`;
    core.urls = new Urls(apiUrl, options.serverUrl ?? 'https://github.com', owner, repo);
    const emulator = new GitHubEmulator(core, server, apiUrl, `${origin}${mount.graphql}`, token, ownedDir);
    const initial = options.initialFiles === undefined ? { 'README.md': `# ${repo}\n` } : options.initialFiles;
    if (initial && !(await branchSha(bare.git, defaultBranch))) await emulator.seed(initial, { message: 'Initial commit' });
    return emulator;
  }


  /** Path of the bare repository (tests may `git push` to it or fetch from it). */
  get bareRepo(): string {
    return this.core.repo.path;
  }

  /** `file://` URL of the bare repository. */
  get cloneUrl(): string {
    return this.core.repo.url;
  }

  get state(): EmulatorState {
    return this.core.state;
  }

  get settings(): RepoSettings {
    return this.core.settings;
  }

  /** Every request served, in order. */
  get requests(): readonly RecordedRequest[] {
    return this.server.requests;
  }

  /** Requests GitHub would have rejected or misread, and responses that break GitHub's description. */
  get violations(): readonly Violation[] {
    return this.server.violations;
  }

  /** `{ auth, baseUrl }` for `new Octokit(...)`. */
  get octokitOptions(): { auth: string; baseUrl: string } {
    return { auth: this.token, baseUrl: this.apiUrl };
  }

  /** The variables a runner gives an action to reach this GitHub. */
  env(): Record<string, string> {
    const s = this.core.settings;
    return {
      GITHUB_API_URL: this.apiUrl,
      GITHUB_GRAPHQL_URL: this.graphqlUrl,
      GITHUB_SERVER_URL: this.core.urls.server,
      GITHUB_REPOSITORY: `${s.owner}/${s.repo}`,
      GITHUB_REPOSITORY_OWNER: s.owner,
      GITHUB_TOKEN: this.token,
    };
  }

  /** Commits files to a branch (default: the default branch) and returns the new commit sha. */
  async seed(files: Record<string, SeedContent>, options: SeedOptions = {}): Promise<string> {
    const author = { ...(options.author ?? seedAuthor), date: this.core.timestamp() };
    return this.core.repo.commitFiles(files, {
      branch: options.branch ?? this.core.settings.defaultBranch,
      message: options.message ?? 'Seed commit',
      author,
      ...(options.from ? { from: options.from } : {}),
    });
  }

  /** The current tip of a branch, read from git. */
  branchSha(branch: string): Promise<string | undefined> {
    return branchSha(this.core.git, branch);
  }

  setTokenPermissions(permissions: Partial<TokenPermissions>): void {
    this.core.permissions = { ...this.core.permissions, ...permissions };
  }

  updateSettings(settings: Partial<Omit<RepoSettings, 'owner' | 'repo'>>): void {
    Object.assign(this.core.settings, settings);
  }

  /**
   * Makes the next request(s) matching `method` (or `*`) and `pathPattern` fail with `status`.
   * The pattern is an exact path, a template like `/repos/{owner}/{repo}/pulls`, a glob, or a RegExp.
   */
  failNext(method: string, pathPattern: string | RegExp, status: number, body?: unknown, options: FailOptions = {}): void {
    const fault: Fault = { method: method.toUpperCase(), pattern: pathPattern, status, remaining: options.times ?? 1 };
    if (body !== undefined) fault.body = body;
    if (options.headers) fault.headers = options.headers;
    this.server.faults.push(fault);
  }

  /** Completes armed auto-merges whose checks now pass (GitHub does this when checks finish). */
  runAutoMerges(): Promise<number[]> {
    return runAutoMerges(this.core);
  }

  /** Throws with every recorded violation; call it in afterEach/at the end of a test. */
  assertNoViolations(): void {
    if (this.server.violations.length === 0) return;
    const lines = this.server.violations.map((v) => `- [${v.kind}] ${v.method} ${v.path}${v.operationId ? ` (${v.operationId}${v.status ? ` → ${v.status}` : ''})` : ''}:\n    ${v.messages.join('\n    ')}`);
    throw new Error(`GitHub emulator recorded ${this.server.violations.length} violation(s):\n${lines.join('\n')}`);
  }

  /** Returns and forgets the recorded violations (for tests that provoke them on purpose). */
  takeViolations(): Violation[] {
    return this.server.violations.splice(0);
  }

  clearRequests(): void {
    this.server.requests.splice(0);
  }

  /**
   * Stops the server and removes the temp repository, then throws if violations were recorded
   * and never taken: a test cannot pass while talking to GitHub in a way GitHub would not accept.
   */
  async stop(): Promise<void> {
    await this.server.close();
    if (this.ownedDir) await rm(this.ownedDir, { recursive: true, force: true });
    this.assertNoViolations();
  }
}

export function startGitHubEmulator(options: GitHubEmulatorOptions = {}): Promise<GitHubEmulator> {
  return GitHubEmulator.start(options);
}

import type { BareRepository } from './git/repository.js';
import type { GitRunner } from './git/git.js';
import type { GitPerson } from './git/objects.js';
import { defaultTokenPermissions, type TokenPermissions } from './permissions.js';
import { EmulatorState, type UserRecord } from './state.js';

export interface BranchProtection {
  /** Commit status contexts that must be `success` on the head before a merge. */
  requiredStatusChecks: string[];
}

export interface RepoSettings {
  owner: string;
  ownerType: 'Organization' | 'User';
  repo: string;
  defaultBranch: string;
  private: boolean;
  allowMergeCommit: boolean;
  allowSquashMerge: boolean;
  allowRebaseMerge: boolean;
  /** GitHub's default for a new repository is off. */
  allowAutoMerge: boolean;
  deleteBranchOnMerge: boolean;
  protectedBranches: Record<string, BranchProtection>;
  /** Logins that may be requested as reviewers; undefined accepts anyone. */
  collaborators?: string[];
}

/** Links the way api.github.com and github.com spell them, rooted at the emulator. */
export class Urls {
  constructor(
    readonly api: string,
    readonly server: string,
    private readonly owner: string,
    private readonly name: string,
  ) {}

  repo(suffix = ''): string {
    return `${this.api}/repos/${this.owner}/${this.name}${suffix}`;
  }

  html(suffix = ''): string {
    return `${this.server}/${this.owner}/${this.name}${suffix}`;
  }

  user(login: string, suffix = ''): string {
    return `${this.api}/users/${encodeURIComponent(login)}${suffix}`;
  }

  userHtml(login: string): string {
    return `${this.server}/${encodeURIComponent(login)}`;
  }
}

/** GitHub's own identity on commits it creates (merges, API commits). */
export const webFlow: Pick<GitPerson, 'name' | 'email'> = { name: 'GitHub', email: 'noreply@github.com' };

/** Everything a route handler works with: settings, records, the bare repository, links, time. */
export class EmulatorCore {
  readonly state: EmulatorState;
  readonly users = new Map<string, UserRecord>();
  private readonly teams = new Map<string, number>();
  permissions: TokenPermissions = { ...defaultTokenPermissions };
  urls!: Urls;

  constructor(
    readonly settings: RepoSettings,
    readonly repo: BareRepository,
    readonly actor: UserRecord,
    readonly now: () => Date = () => new Date(),
  ) {
    this.state = new EmulatorState(this.timestamp());
    this.users.set(actor.login.toLowerCase(), actor);
    this.user(settings.owner, settings.ownerType);
  }

  get git(): GitRunner {
    return this.repo.git;
  }

  /** GitHub's timestamp format: ISO 8601 in UTC, whole seconds. */
  timestamp(): string {
    return this.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  /** A known or new account by login (GitHub ids are stable per login). */
  user(login: string, type: UserRecord['type'] = 'User'): UserRecord {
    const key = login.toLowerCase();
    let user = this.users.get(key);
    if (!user) {
      const id = this.state.nextId();
      user = { login, id, type, name: login, email: `${id}+${login}@users.noreply.github.com` };
      this.users.set(key, user);
    }
    return user;
  }

  /** A team of the owning organization by slug, with a stable id. */
  team(slug: string): { slug: string; id: number } {
    const key = slug.toLowerCase();
    let id = this.teams.get(key);
    if (id === undefined) {
      id = this.state.nextId();
      this.teams.set(key, id);
    }
    return { slug, id };
  }

  /** The account GitHub links a commit to by its email, if any. */
  userByEmail(email: string): UserRecord | undefined {
    return [...this.users.values()].find((u) => u.email.toLowerCase() === email.toLowerCase());
  }

  protectionOf(branch: string): BranchProtection | undefined {
    return this.settings.protectedBranches[branch];
  }
}

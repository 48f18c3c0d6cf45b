import type { EmulatorCore } from '../core.js';
import { renderUser } from './users.js';

/** The repository's `permissions` as the token sees them. */
export function repositoryPermissions(core: EmulatorCore): Record<string, boolean> {
  const push = core.permissions.contents === 'write';
  return { admin: false, maintain: false, push, triage: push || core.permissions.issues === 'write' || core.permissions.pullRequests === 'write', pull: true };
}

/**
 * The repository in one of GitHub's three shapes: `full` (GET /repos/{owner}/{repo}),
 * `repository` (embedded in pull requests), `minimal` (combined statuses).
 */
export function renderRepository(core: EmulatorCore, shape: 'full' | 'repository' | 'minimal' = 'full'): Record<string, unknown> {
  const s = core.settings;
  const r = (suffix: string): string => core.urls.repo(suffix);
  const owner = core.user(s.owner, s.ownerType);
  const openIssues = [...core.state.issues.values()].filter((i) => i.state === 'open').length;
  const repository: Record<string, unknown> = {
    id: core.state.repoId,
    node_id: core.state.nodeId('R', core.state.repoId),
    name: s.repo,
    full_name: `${s.owner}/${s.repo}`,
    owner: renderUser(core, owner),
    private: s.private,
    visibility: s.private ? 'private' : 'public',
    html_url: core.urls.html(),
    description: null,
    fork: false,
    url: r(''),
    archive_url: r('/{archive_format}{/ref}'),
    assignees_url: r('/assignees{/user}'),
    blobs_url: r('/git/blobs{/sha}'),
    branches_url: r('/branches{/branch}'),
    collaborators_url: r('/collaborators{/collaborator}'),
    comments_url: r('/comments{/number}'),
    commits_url: r('/commits{/sha}'),
    compare_url: r('/compare/{base}...{head}'),
    contents_url: r('/contents/{+path}'),
    contributors_url: r('/contributors'),
    deployments_url: r('/deployments'),
    downloads_url: r('/downloads'),
    events_url: r('/events'),
    forks_url: r('/forks'),
    git_commits_url: r('/git/commits{/sha}'),
    git_refs_url: r('/git/refs{/sha}'),
    git_tags_url: r('/git/tags{/sha}'),
    git_url: core.repo.url,
    issue_comment_url: r('/issues/comments{/number}'),
    issue_events_url: r('/issues/events{/number}'),
    issues_url: r('/issues{/number}'),
    keys_url: r('/keys{/key_id}'),
    labels_url: r('/labels{/name}'),
    languages_url: r('/languages'),
    merges_url: r('/merges'),
    milestones_url: r('/milestones{/number}'),
    notifications_url: r('/notifications{?since,all,participating}'),
    pulls_url: r('/pulls{/number}'),
    releases_url: r('/releases{/id}'),
    ssh_url: `git@github.com:${s.owner}/${s.repo}.git`,
    stargazers_url: r('/stargazers'),
    statuses_url: r('/statuses/{sha}'),
    subscribers_url: r('/subscribers'),
    subscription_url: r('/subscription'),
    tags_url: r('/tags'),
    teams_url: r('/teams'),
    trees_url: r('/git/trees{/sha}'),
    // Cloning the emulated repository really works: it is the bare repository on disk.
    clone_url: core.repo.url,
    mirror_url: null,
    hooks_url: r('/hooks'),
    svn_url: core.urls.html(),
    homepage: null,
    language: 'Nix',
    forks_count: 0,
    forks: 0,
    stargazers_count: 0,
    watchers_count: 0,
    watchers: 0,
    size: 0,
    default_branch: s.defaultBranch,
    open_issues_count: openIssues,
    open_issues: openIssues,
    is_template: false,
    topics: [],
    has_issues: true,
    has_projects: true,
    has_wiki: false,
    has_pages: false,
    has_downloads: true,
    has_discussions: false,
    archived: false,
    disabled: false,
    pushed_at: core.state.repoCreatedAt,
    created_at: core.state.repoCreatedAt,
    updated_at: core.state.repoCreatedAt,
    permissions: repositoryPermissions(core),
    allow_rebase_merge: s.allowRebaseMerge,
    allow_squash_merge: s.allowSquashMerge,
    allow_merge_commit: s.allowMergeCommit,
    allow_auto_merge: s.allowAutoMerge,
    delete_branch_on_merge: s.deleteBranchOnMerge,
    allow_update_branch: false,
    use_squash_pr_title_as_default: false,
    squash_merge_commit_title: 'COMMIT_OR_PR_TITLE',
    squash_merge_commit_message: 'COMMIT_MESSAGES',
    merge_commit_title: 'MERGE_MESSAGE',
    merge_commit_message: 'PR_TITLE',
    allow_forking: true,
    web_commit_signoff_required: false,
    license: null,
  };
  if (shape === 'full') return { ...repository, subscribers_count: 1, network_count: 0 };
  if (shape === 'minimal') {
    for (const key of Object.keys(repository)) {
      if (/^(allow_|use_squash|squash_merge|merge_commit)/.test(key)) delete repository[key];
    }
  }
  return repository;
}

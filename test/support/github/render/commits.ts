import type { EmulatorCore } from '../core.js';
import type { FileChange } from '../git/diff.js';
import type { CommitObject, GitPerson } from '../git/objects.js';
import { renderUser } from './users.js';

export function commitNodeId(core: EmulatorCore, sha: string): string {
  return `C_kwDO${Buffer.from(`${core.state.repoId}:${sha}`).toString('base64url')}`;
}

/**
 * GitHub signs the commits it creates itself (Git Data API commits without a custom author or
 * committer, merges) with its web-flow key and reports them verified. The emulator cannot sign
 * as GitHub, so it remembers which commits it created and reports those as GitHub would.
 */
export function renderVerification(core: EmulatorCore, commit: CommitObject): Record<string, unknown> {
  if (core.state.signedCommits.has(commit.sha)) {
    return {
      verified: true,
      reason: 'valid',
      signature: '-----BEGIN PGP SIGNATURE-----\n\nwsBcBAABCAAQBQJ (github-emulator web-flow signature)\n-----END PGP SIGNATURE-----\n',
      payload: commit.payload,
      verified_at: commit.committer.date.replace(/[+-]\d\d:\d\d$/, 'Z'),
    };
  }
  if (commit.signature) {
    return { verified: false, reason: 'unknown_key', signature: commit.signature, payload: commit.payload, verified_at: null };
  }
  return { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null };
}

function person(p: GitPerson): GitPerson {
  return { name: p.name, email: p.email, date: p.date };
}

/** `git-commit` (Git Data API). */
export function renderGitCommit(core: EmulatorCore, commit: CommitObject): Record<string, unknown> {
  return {
    sha: commit.sha,
    node_id: commitNodeId(core, commit.sha),
    url: core.urls.repo(`/git/commits/${commit.sha}`),
    html_url: core.urls.html(`/commit/${commit.sha}`),
    author: person(commit.author),
    committer: person(commit.committer),
    message: commit.message,
    tree: { sha: commit.tree, url: core.urls.repo(`/git/trees/${commit.tree}`) },
    parents: commit.parents.map((sha) => ({ sha, url: core.urls.repo(`/git/commits/${sha}`), html_url: core.urls.html(`/commit/${sha}`) })),
    verification: renderVerification(core, commit),
  };
}

/** `diff-entry`. */
export function renderFileChange(core: EmulatorCore, change: FileChange, ref: string): Record<string, unknown> {
  const path = change.filename.split('/').map(encodeURIComponent).join('/');
  return {
    sha: change.sha,
    filename: change.filename,
    status: change.status,
    additions: change.additions,
    deletions: change.deletions,
    changes: change.changes,
    blob_url: core.urls.html(`/blob/${ref}/${path}`),
    raw_url: core.urls.html(`/raw/${ref}/${path}`),
    contents_url: core.urls.repo(`/contents/${path}?ref=${ref}`),
    ...(change.patch !== undefined ? { patch: change.patch } : {}),
  };
}

/** `commit` (REST commits and compare), optionally with stats and files. */
export function renderCommit(core: EmulatorCore, commit: CommitObject, files?: FileChange[]): Record<string, unknown> {
  const author = core.userByEmail(commit.author.email);
  const committer = core.userByEmail(commit.committer.email);
  const out: Record<string, unknown> = {
    url: core.urls.repo(`/commits/${commit.sha}`),
    sha: commit.sha,
    node_id: commitNodeId(core, commit.sha),
    html_url: core.urls.html(`/commit/${commit.sha}`),
    comments_url: core.urls.repo(`/commits/${commit.sha}/comments`),
    commit: {
      url: core.urls.repo(`/git/commits/${commit.sha}`),
      author: person(commit.author),
      committer: person(commit.committer),
      message: commit.message,
      comment_count: 0,
      tree: { sha: commit.tree, url: core.urls.repo(`/git/trees/${commit.tree}`) },
      verification: renderVerification(core, commit),
    },
    author: author ? renderUser(core, author) : null,
    committer: committer ? renderUser(core, committer) : null,
    parents: commit.parents.map((sha) => ({ sha, url: core.urls.repo(`/commits/${sha}`), html_url: core.urls.html(`/commit/${sha}`) })),
  };
  if (files) {
    const additions = files.reduce((n, f) => n + f.additions, 0);
    const deletions = files.reduce((n, f) => n + f.deletions, 0);
    out.stats = { additions, deletions, total: additions + deletions };
    out.files = files.map((f) => renderFileChange(core, f, commit.sha));
  }
  return out;
}

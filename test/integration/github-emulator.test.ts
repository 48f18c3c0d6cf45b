import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Octokit } from '@octokit/rest';
import { exec } from '../../src/util/exec.js';
import { actionsCannotCreatePullRequestsMessage, startGitHubEmulator, type GitHubEmulator, type GitHubEmulatorOptions } from '../support/github/index.js';
import { openApiValidator } from '../support/github/openapi/validator.js';
import { operationById } from '../support/github/openapi/router.js';

const gitEnv = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 'Dev', GIT_AUTHOR_EMAIL: 'dev@example.com', GIT_COMMITTER_NAME: 'Dev', GIT_COMMITTER_EMAIL: 'dev@example.com' };
const git = async (args: string[], cwd?: string): Promise<string> => (await exec('git', args, { env: gitEnv, ...(cwd ? { cwd } : {}) })).stdout.trim();

const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
let gh: GitHubEmulator;
let octokit: Octokit;
const running: GitHubEmulator[] = [];
const repo = { owner: 'acme', repo: 'fleet' };

async function start(options: GitHubEmulatorOptions = {}): Promise<void> {
  gh = await startGitHubEmulator({ owner: 'acme', repo: 'fleet', defaultBranch: 'main', ...options });
  running.push(gh);
  octokit = new Octokit({ ...gh.octokitOptions, log: silent });
}

/** The status and message of a failed Octokit call. */
async function failure(promise: Promise<unknown>): Promise<{ status: number; message: string; data: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { status: number; message: string; response?: { data: Record<string, unknown> } };
    return { status: e.status, message: e.message, data: e.response?.data ?? {} };
  }
  throw new Error('expected the request to fail');
}

async function branchWithCommit(branch: string, files: Record<string, string>, from = 'main'): Promise<string> {
  return gh.seed(files, { branch, from, message: `change ${Object.keys(files).join(', ')}` });
}

// stop() also fails the test if the emulator recorded violations nobody took.
afterEach(async () => {
  await Promise.all(running.splice(0).map((emulator) => emulator.stop()));
});

describe('repository and Git Data API', () => {
  beforeEach(() => start({ initialFiles: { 'README.md': '# fleet\n', 'hosts/a.nix': '{ }\n' } }));

  test('describes the repository with its merge settings and the token permissions', async () => {
    const { data } = await octokit.repos.get(repo);
    expect(data).toMatchObject({ full_name: 'acme/fleet', default_branch: 'main', allow_merge_commit: true, allow_squash_merge: true, allow_rebase_merge: true, allow_auto_merge: false });
    expect(data.permissions).toMatchObject({ push: true, admin: false });
    expect(data.clone_url).toBe(gh.cloneUrl);
    expect((await failure(octokit.repos.get({ owner: 'acme', repo: 'other' }))).status).toBe(404);
  });

  test('blob, tree, commit and ref writes are real objects in the bare repository', async () => {
    const main = await octokit.git.getRef({ ...repo, ref: 'heads/main' });
    const parent = main.data.object.sha;
    const base = await octokit.git.getCommit({ ...repo, commit_sha: parent });

    const text = await octokit.git.createBlob({ ...repo, content: 'hello\n', encoding: 'utf-8' });
    const binary = await octokit.git.createBlob({ ...repo, content: Buffer.from([0, 1, 2, 255]).toString('base64'), encoding: 'base64' });
    expect(await git(['--git-dir', gh.bareRepo, 'cat-file', 'blob', text.data.sha])).toBe('hello');

    const tree = await octokit.git.createTree({
      ...repo,
      base_tree: base.data.tree.sha,
      tree: [
        { path: 'hosts/b.nix', mode: '100644', type: 'blob', sha: text.data.sha },
        { path: 'bin/blob', mode: '100755', type: 'blob', sha: binary.data.sha },
        { path: 'flake.lock', mode: '100644', type: 'blob', content: '{"version":7}\n' },
        { path: 'README.md', mode: '100644', type: 'blob', sha: null },
      ],
    });
    expect(tree.status).toBe(201);
    const listing = await git(['--git-dir', gh.bareRepo, 'ls-tree', '-r', '--name-only', tree.data.sha]);
    expect(listing.split('\n').sort()).toEqual(['bin/blob', 'flake.lock', 'hosts/a.nix', 'hosts/b.nix']);
    expect(await git(['--git-dir', gh.bareRepo, 'ls-tree', tree.data.sha, 'bin/blob'])).toMatch(/^100755 blob /);

    const commit = await octokit.git.createCommit({ ...repo, message: 'Bump hosts', tree: tree.data.sha, parents: [parent] });
    expect(commit.data.verification).toMatchObject({ verified: true, reason: 'valid' });
    expect(commit.data.parents.map((p) => p.sha)).toEqual([parent]);
    expect(await git(['--git-dir', gh.bareRepo, 'rev-parse', `${commit.data.sha}^{tree}`])).toBe(tree.data.sha);

    const updated = await octokit.git.updateRef({ ...repo, ref: 'heads/main', sha: commit.data.sha });
    expect(updated.data.object.sha).toBe(commit.data.sha);
    expect(await gh.branchSha('main')).toBe(commit.data.sha);
    expect(await git(['--git-dir', gh.bareRepo, 'log', '-1', '--format=%s%n%an <%ae>%n%cn', 'main'])).toBe('Bump hosts\ngithub-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>\nGitHub');

    const recursive = await octokit.git.getTree({ ...repo, tree_sha: 'main', recursive: 'true' });
    expect(recursive.data.tree.map((e) => `${e.type} ${e.path}`)).toEqual(expect.arrayContaining(['tree hosts', 'blob hosts/b.nix', 'tree bin']));
    const blob = await octokit.git.getBlob({ ...repo, file_sha: binary.data.sha });
    expect(Buffer.from(blob.data.content, 'base64')).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  test('commits with a custom author are not signed by GitHub', async () => {
    const head = await gh.branchSha('main');
    const base = await octokit.git.getCommit({ ...repo, commit_sha: head as string });
    const commit = await octokit.git.createCommit({ ...repo, message: 'custom', tree: base.data.tree.sha, parents: [head as string], author: { name: 'Ops', email: 'ops@example.com', date: '2024-05-01T10:00:00Z' } });
    expect(commit.data.verification).toMatchObject({ verified: false, reason: 'unsigned' });
    expect(commit.data.author).toEqual({ name: 'Ops', email: 'ops@example.com', date: '2024-05-01T10:00:00Z' });
    expect(commit.data.committer.name).toBe('Ops');
  });

  test('refs: create, fast-forward only without force, delete', async () => {
    const main = (await gh.branchSha('main')) as string;
    const created = await octokit.git.createRef({ ...repo, ref: 'refs/heads/bump', sha: main });
    expect(created.status).toBe(201);
    expect(created.data.ref).toBe('refs/heads/bump');
    expect(await failure(octokit.git.createRef({ ...repo, ref: 'refs/heads/bump', sha: main }))).toMatchObject({ status: 422, data: { message: 'Reference already exists' } });

    const ahead = await branchWithCommit('side', { 'x.txt': 'x\n' });
    const unrelated = await gh.seed({ 'y.txt': 'y\n' }, { branch: 'orphan' });
    await octokit.git.updateRef({ ...repo, ref: 'heads/bump', sha: ahead });
    expect(await failure(octokit.git.updateRef({ ...repo, ref: 'heads/bump', sha: unrelated }))).toMatchObject({ status: 422, data: { message: 'Update is not a fast forward' } });
    expect(await gh.branchSha('bump')).toBe(ahead);
    await octokit.git.updateRef({ ...repo, ref: 'heads/bump', sha: unrelated, force: true });
    expect(await gh.branchSha('bump')).toBe(unrelated);

    const matching = await octokit.git.listMatchingRefs({ ...repo, ref: 'heads/b' });
    expect(matching.data.map((r) => r.ref)).toEqual(['refs/heads/bump']);

    expect((await octokit.git.deleteRef({ ...repo, ref: 'heads/bump' })).status).toBe(204);
    expect((await failure(octokit.git.getRef({ ...repo, ref: 'heads/bump' }))).status).toBe(404);
    expect(await failure(octokit.git.deleteRef({ ...repo, ref: 'heads/bump' }))).toMatchObject({ status: 422, data: { message: 'Reference does not exist' } });
    expect(await failure(octokit.git.createRef({ ...repo, ref: 'refs/heads/ghost', sha: '0123456789012345678901234567890123456789' }))).toMatchObject({ status: 422, data: { message: 'Object does not exist' } });
  });

  test('reads refs from git on every request, so direct pushes are seen', async () => {
    const work = await mkdtemp(join(tmpdir(), 'gh-emulator-clone-'));
    try {
      await git(['clone', '--quiet', gh.cloneUrl, work]);
      await writeFile(join(work, 'pushed.txt'), 'pushed\n');
      await git(['add', 'pushed.txt'], work);
      await git(['commit', '--quiet', '-m', 'pushed directly'], work);
      await git(['push', '--quiet', 'origin', 'HEAD:refs/heads/direct'], work);
      const pushed = await git(['rev-parse', 'HEAD'], work);

      const ref = await octokit.git.getRef({ ...repo, ref: 'heads/direct' });
      expect(ref.data.object.sha).toBe(pushed);
      const commit = await octokit.repos.getCommit({ ...repo, ref: 'direct' });
      expect(commit.data.commit.verification?.verified).toBe(false);
      expect(commit.data.files?.map((f) => [f.filename, f.status, f.additions])).toEqual([['pushed.txt', 'added', 1]]);
      const branch = await octokit.repos.getBranch({ ...repo, branch: 'direct' });
      expect(branch.data.commit.sha).toBe(pushed);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  test('contents, commits and comparisons', async () => {
    const file = await octokit.repos.getContent({ ...repo, path: 'hosts/a.nix' });
    expect(Array.isArray(file.data)).toBe(false);
    expect(Buffer.from((file.data as { content: string }).content, 'base64').toString()).toBe('{ }\n');
    const dir = await octokit.repos.getContent({ ...repo, path: 'hosts' });
    expect((dir.data as Array<{ name: string; type: string }>).map((e) => [e.name, e.type])).toEqual([['a.nix', 'file']]);
    expect((await failure(octokit.repos.getContent({ ...repo, path: 'missing.nix' }))).status).toBe(404);

    const mainBefore = (await gh.branchSha('main')) as string;
    await branchWithCommit('feature', { 'hosts/a.nix': '{ x = 1; }\n', 'new.nix': 'new\n' });
    let cmp = await octokit.repos.compareCommitsWithBasehead({ ...repo, basehead: 'main...feature' });
    expect(cmp.data).toMatchObject({ status: 'ahead', ahead_by: 1, behind_by: 0, total_commits: 1 });
    expect(cmp.data.files?.map((f) => `${f.status} ${f.filename}`).sort()).toEqual(['added new.nix', 'modified hosts/a.nix']);

    await gh.seed({ 'main-only.txt': 'm\n' });
    cmp = await octokit.repos.compareCommitsWithBasehead({ ...repo, basehead: 'main...feature' });
    expect(cmp.data).toMatchObject({ status: 'diverged', ahead_by: 1, behind_by: 1 });
    expect(cmp.data.merge_base_commit.sha).toBe(mainBefore);
    cmp = await octokit.repos.compareCommitsWithBasehead({ ...repo, basehead: `feature...${mainBefore}` });
    expect(cmp.data).toMatchObject({ status: 'behind', ahead_by: 0, behind_by: 1 });
    cmp = await octokit.repos.compareCommitsWithBasehead({ ...repo, basehead: 'main...main' });
    expect(cmp.data.status).toBe('identical');

    const contentOnBranch = await octokit.repos.getContent({ ...repo, path: 'new.nix', ref: 'feature' });
    expect((contentOnBranch.data as { sha: string }).sha).toMatch(/^[0-9a-f]{40}$/);
    const raw = await octokit.repos.getContent({ ...repo, path: 'new.nix', ref: 'feature', mediaType: { format: 'raw' } });
    expect(String(raw.data)).toBe('new\n');
  });

  test('create or update a file through the contents API', async () => {
    const created = await octokit.repos.createOrUpdateFileContents({ ...repo, path: 'inventory/fleet.json', message: 'add inventory', content: Buffer.from('{}\n').toString('base64'), branch: 'main' });
    expect(created.status).toBe(201);
    const sha = created.data.content?.sha as string;
    expect(await failure(octokit.repos.createOrUpdateFileContents({ ...repo, path: 'inventory/fleet.json', message: 'again', content: Buffer.from('[]\n').toString('base64') }))).toMatchObject({ status: 422 });
    const updated = await octokit.repos.createOrUpdateFileContents({ ...repo, path: 'inventory/fleet.json', message: 'update', content: Buffer.from('[]\n').toString('base64'), sha });
    expect(updated.status).toBe(200);
    expect(await git(['--git-dir', gh.bareRepo, 'show', 'main:inventory/fleet.json'])).toBe('[]');
  });
});

describe('pull requests', () => {
  beforeEach(() => start({ collaborators: ['alice', 'bob'] }));

  test('create, list by head, update, close and reopen', async () => {
    await branchWithCommit('bump/flake-lock', { 'flake.lock': '{}\n' });
    const created = await octokit.pulls.create({ ...repo, title: 'Bump flake.lock', head: 'bump/flake-lock', base: 'main', body: 'weekly bump' });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({ number: 1, state: 'open', title: 'Bump flake.lock', head: { ref: 'bump/flake-lock' }, base: { ref: 'main' }, commits: 1, changed_files: 1, mergeable: true, mergeable_state: 'clean' });
    expect(created.data.node_id).toMatch(/^PR_/);

    const listed = await octokit.pulls.list({ ...repo, head: 'acme:bump/flake-lock', state: 'open' });
    expect(listed.data.map((p) => p.number)).toEqual([1]);
    expect((await octokit.pulls.list({ ...repo, head: 'acme:other' })).data).toEqual([]);
    expect((await octokit.pulls.list({ ...repo, base: 'main' })).data).toHaveLength(1);

    const updated = await octokit.pulls.update({ ...repo, pull_number: 1, title: 'Bump flake.lock (3 inputs)', body: 'new body' });
    expect(updated.data).toMatchObject({ title: 'Bump flake.lock (3 inputs)', body: 'new body' });

    const closed = await octokit.pulls.update({ ...repo, pull_number: 1, state: 'closed' });
    expect(closed.data.state).toBe('closed');
    expect(closed.data.closed_at).not.toBeNull();
    expect((await octokit.pulls.list({ ...repo, head: 'acme:bump/flake-lock' })).data).toEqual([]);
    expect((await octokit.pulls.list({ ...repo, state: 'closed' })).data.map((p) => p.number)).toEqual([1]);

    const reopened = await octokit.pulls.update({ ...repo, pull_number: 1, state: 'open' });
    expect(reopened.data.state).toBe('open');

    const pull = await octokit.pulls.get({ ...repo, pull_number: 1 });
    expect(pull.data.node_id).toBe(created.data.node_id);
    expect((await failure(octokit.pulls.get({ ...repo, pull_number: 99 }))).status).toBe(404);
  });

  test('refuses duplicates, empty pull requests and unknown branches like GitHub', async () => {
    await branchWithCommit('bump', { 'flake.lock': '{}\n' });
    await octokit.pulls.create({ ...repo, title: 'one', head: 'bump', base: 'main' });
    const duplicate = await failure(octokit.pulls.create({ ...repo, title: 'two', head: 'acme:bump', base: 'main' }));
    expect(duplicate.status).toBe(422);
    expect(duplicate.data).toMatchObject({ message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'custom', message: 'A pull request already exists for acme:bump.' }] });

    await octokit.git.createRef({ ...repo, ref: 'refs/heads/empty', sha: (await gh.branchSha('main')) as string });
    const empty = await failure(octokit.pulls.create({ ...repo, title: 'nothing', head: 'empty', base: 'main' }));
    expect(empty.data).toMatchObject({ errors: [{ message: 'No commits between main and empty' }] });

    const missing = await failure(octokit.pulls.create({ ...repo, title: 'x', head: 'nope', base: 'main' }));
    expect(missing.data).toMatchObject({ errors: [{ field: 'head', code: 'invalid' }] });
  });

  test('requested reviewers must be collaborators', async () => {
    await branchWithCommit('bump', { 'flake.lock': '{}\n' });
    await octokit.pulls.create({ ...repo, title: 'bump', head: 'bump', base: 'main' });
    const requested = await octokit.pulls.requestReviewers({ ...repo, pull_number: 1, reviewers: ['alice'], team_reviewers: ['ops'] });
    expect(requested.status).toBe(201);
    expect(requested.data.requested_reviewers?.map((u) => u.login)).toEqual(['alice']);
    expect(requested.data.requested_teams?.map((t) => t.slug)).toEqual(['ops']);
    const stranger = await failure(octokit.pulls.requestReviewers({ ...repo, pull_number: 1, reviewers: ['mallory'] }));
    expect(stranger.status).toBe(422);
    expect(stranger.data.message).toMatch(/not a collaborator/);
  });

  test('merging really merges in git with each allowed method', async () => {
    const mainStart = (await gh.branchSha('main')) as string;
    const featureHead = await branchWithCommit('merge-me', { 'a.txt': 'a\n' });
    await gh.seed({ 'a2.txt': 'a2\n' }, { branch: 'merge-me' });
    await octokit.pulls.create({ ...repo, title: 'merge commit', head: 'merge-me', base: 'main' });
    const merged = await octokit.pulls.merge({ ...repo, pull_number: 1, merge_method: 'merge' });
    expect(merged.data).toMatchObject({ merged: true, message: 'Pull Request successfully merged' });
    const parents = (await git(['--git-dir', gh.bareRepo, 'log', '-1', '--format=%P', 'main'])).split(' ');
    expect(parents[0]).toBe(mainStart);
    expect(parents[1]).toBe(await gh.branchSha('merge-me'));
    expect(await git(['--git-dir', gh.bareRepo, 'log', '-1', '--format=%s', 'main'])).toBe('Merge pull request #1 from acme/merge-me');
    const pull = await octokit.pulls.get({ ...repo, pull_number: 1 });
    expect(pull.data).toMatchObject({ state: 'closed', merged: true, merge_commit_sha: merged.data.sha });
    expect((await octokit.pulls.checkIfMerged({ ...repo, pull_number: 1 })).status).toBe(204);
    expect(featureHead).toMatch(/^[0-9a-f]{40}$/);

    await branchWithCommit('squash-me', { 'b.txt': 'b\n' });
    await gh.seed({ 'b2.txt': 'b2\n' }, { branch: 'squash-me' });
    await octokit.pulls.create({ ...repo, title: 'squash', head: 'squash-me', base: 'main' });
    const squashed = await octokit.pulls.merge({ ...repo, pull_number: 2, merge_method: 'squash' });
    expect(await git(['--git-dir', gh.bareRepo, 'log', '-1', '--format=%P%n%s', 'main'])).toBe(`${merged.data.sha}\nsquash (#2)`);
    expect(await git(['--git-dir', gh.bareRepo, 'show', 'main:b2.txt'])).toBe('b2');

    await branchWithCommit('rebase-me', { 'c.txt': 'c\n' }, squashed.data.sha);
    await gh.seed({ 'c2.txt': 'c2\n' }, { branch: 'rebase-me' });
    await gh.seed({ 'unrelated-main.txt': 'u\n' });
    await octokit.pulls.create({ ...repo, title: 'rebase', head: 'rebase-me', base: 'main' });
    const rebased = await octokit.pulls.merge({ ...repo, pull_number: 3, merge_method: 'rebase' });
    const log = await git(['--git-dir', gh.bareRepo, 'log', '--format=%s', '-3', rebased.data.sha]);
    expect(log.split('\n')).toEqual(['change c2.txt'.replace('change c2.txt', 'Seed commit'), 'change c.txt', 'Seed commit']);
    expect(await git(['--git-dir', gh.bareRepo, 'show', 'main:unrelated-main.txt'])).toBe('u');
  });

  test('refuses merges GitHub would refuse', async () => {
    gh.updateSettings({ allowRebaseMerge: false });
    const head = await branchWithCommit('conflict', { 'README.md': 'theirs\n' });
    await gh.seed({ 'README.md': 'ours\n' });
    await octokit.pulls.create({ ...repo, title: 'conflict', head: 'conflict', base: 'main' });
    expect((await octokit.pulls.get({ ...repo, pull_number: 1 })).data).toMatchObject({ mergeable: false, mergeable_state: 'dirty' });
    expect(await failure(octokit.pulls.merge({ ...repo, pull_number: 1 }))).toMatchObject({ status: 405, data: { message: 'Pull Request is not mergeable' } });
    expect(await failure(octokit.pulls.merge({ ...repo, pull_number: 1, merge_method: 'rebase' }))).toMatchObject({ status: 405, data: { message: 'Rebase merges are not allowed on this repository.' } });
    expect(await failure(octokit.pulls.merge({ ...repo, pull_number: 1, sha: '0'.repeat(40) }))).toMatchObject({ status: 409 });
    expect(await gh.branchSha('conflict')).toBe(head);
  });

  test('a pull request whose head branch is deleted is closed', async () => {
    await branchWithCommit('short-lived', { 'x.txt': 'x\n' });
    await octokit.pulls.create({ ...repo, title: 'short', head: 'short-lived', base: 'main' });
    await octokit.git.deleteRef({ ...repo, ref: 'heads/short-lived' });
    expect((await octokit.pulls.get({ ...repo, pull_number: 1 })).data.state).toBe('closed');
  });

  test('lists the files and commits of a pull request', async () => {
    await branchWithCommit('files', { 'one.txt': '1\n2\n', 'two.txt': 'x\n' });
    await octokit.pulls.create({ ...repo, title: 'files', head: 'files', base: 'main' });
    const files = await octokit.pulls.listFiles({ ...repo, pull_number: 1 });
    expect(files.data.map((f) => [f.filename, f.additions])).toEqual([['one.txt', 2], ['two.txt', 1]]);
    expect(files.data[0]?.patch).toContain('+1');
    const commits = await octokit.pulls.listCommits({ ...repo, pull_number: 1 });
    expect(commits.data).toHaveLength(1);
  });
});

describe('issues, labels and comments', () => {
  beforeEach(() => start());

  test('labels on pull requests, issue listings with label filters, comments', async () => {
    const label = await octokit.issues.createLabel({ ...repo, name: 'dependencies', color: '0366d6', description: 'Dependency bumps' });
    expect(label.status).toBe(201);
    expect(await failure(octokit.issues.createLabel({ ...repo, name: 'Dependencies', color: '000000' }))).toMatchObject({ status: 422, data: { errors: [{ resource: 'Label', code: 'already_exists', field: 'name' }] } });
    expect((await failure(octokit.issues.createLabel({ ...repo, name: 'bad', color: 'blue' }))).status).toBe(422);

    await branchWithCommit('bump', { 'flake.lock': '{}\n' });
    await octokit.pulls.create({ ...repo, title: 'bump', head: 'bump', base: 'main' });
    await octokit.issues.create({ ...repo, title: 'an issue', labels: ['dependencies'] });
    const added = await octokit.issues.addLabels({ ...repo, issue_number: 1, labels: ['dependencies', 'automerge'] });
    expect(added.data.map((l) => l.name)).toEqual(['dependencies', 'automerge']);
    expect((await octokit.issues.listLabelsForRepo(repo)).data.map((l) => l.name)).toEqual(['dependencies', 'automerge']);

    const both = await octokit.issues.listForRepo({ ...repo, labels: 'dependencies' });
    expect(both.data.map((i) => [i.number, i.pull_request !== undefined])).toEqual([[2, false], [1, true]]);
    const onlyPr = await octokit.issues.listForRepo({ ...repo, labels: 'dependencies,automerge', state: 'all' });
    expect(onlyPr.data.map((i) => i.number)).toEqual([1]);
    expect((await octokit.pulls.get({ ...repo, pull_number: 1 })).data.labels.map((l) => l.name)).toEqual(['dependencies', 'automerge']);

    await octokit.issues.removeLabel({ ...repo, issue_number: 1, name: 'automerge' });
    expect((await failure(octokit.issues.removeLabel({ ...repo, issue_number: 1, name: 'automerge' }))).status).toBe(404);

    const comment = await octokit.issues.createComment({ ...repo, issue_number: 1, body: 'Lock diff: 3 inputs' });
    expect(comment.data.html_url).toBe(`https://github.com/acme/fleet/pull/1#issuecomment-${comment.data.id}`);
    const edited = await octokit.issues.updateComment({ ...repo, comment_id: comment.data.id, body: 'Lock diff: 4 inputs' });
    expect(edited.data.body).toBe('Lock diff: 4 inputs');
    const comments = await octokit.issues.listComments({ ...repo, issue_number: 1 });
    expect(comments.data.map((c) => c.body)).toEqual(['Lock diff: 4 inputs']);
    expect((await octokit.issues.get({ ...repo, issue_number: 1 })).data.comments).toBe(1);
  });

  test('paginates with Link headers Octokit follows', async () => {
    for (let i = 0; i < 7; i++) await octokit.issues.createLabel({ ...repo, name: `wave-${i}` });
    const all = await octokit.paginate(octokit.issues.listLabelsForRepo, { ...repo, per_page: 3 });
    expect(all.map((l) => l.name)).toEqual(['wave-0', 'wave-1', 'wave-2', 'wave-3', 'wave-4', 'wave-5', 'wave-6']);
    expect(gh.requests.filter((r) => r.operationId === 'issues/list-labels-for-repo')).toHaveLength(3);
  });
});

describe('deployments', () => {
  beforeEach(() => start());

  test('deployments with statuses, filters and auto-inactive', async () => {
    const sha = (await gh.branchSha('main')) as string;
    const staging = await octokit.repos.createDeployment({ ...repo, ref: 'main', environment: 'staging', auto_merge: false, required_contexts: [], payload: { hosts: ['web-1'] }, description: 'wave staging' });
    expect(staging.status).toBe(201);
    const first = staging.data as { id: number; sha: string; payload: unknown; production_environment: boolean };
    expect(first).toMatchObject({ sha, payload: { hosts: ['web-1'] }, production_environment: false });
    const prod = await octokit.repos.createDeployment({ ...repo, ref: sha, environment: 'production', auto_merge: false, required_contexts: [], payload: '{"wave":"final"}' });
    expect((prod.data as { payload: unknown }).payload).toEqual({ wave: 'final' });

    const inProgress = await octokit.repos.createDeploymentStatus({ ...repo, deployment_id: first.id, state: 'in_progress', log_url: 'https://ci.example.com/run/1', description: 'deploying' });
    expect(inProgress.data).toMatchObject({ state: 'in_progress', log_url: 'https://ci.example.com/run/1', target_url: 'https://ci.example.com/run/1', environment: 'staging' });
    await octokit.repos.createDeploymentStatus({ ...repo, deployment_id: first.id, state: 'success', environment_url: 'https://staging.example.com' });
    const statuses = await octokit.repos.listDeploymentStatuses({ ...repo, deployment_id: first.id });
    expect(statuses.data.map((s) => s.state)).toEqual(['success', 'in_progress']);

    const second = await octokit.repos.createDeployment({ ...repo, ref: 'main', environment: 'staging', auto_merge: false, required_contexts: [] });
    await octokit.repos.createDeploymentStatus({ ...repo, deployment_id: (second.data as { id: number }).id, state: 'success' });
    expect((await octokit.repos.listDeploymentStatuses({ ...repo, deployment_id: first.id })).data[0]?.state).toBe('inactive');

    const listed = await octokit.repos.listDeployments({ ...repo, environment: 'staging' });
    expect(listed.data.map((d) => d.id)).toEqual([(second.data as { id: number }).id, first.id]);
    expect((await octokit.repos.listDeployments({ ...repo, sha, environment: 'production' })).data).toHaveLength(1);
    expect((await failure(octokit.repos.createDeployment({ ...repo, ref: 'no-such-branch', required_contexts: [] }))).status).toBe(422);
  });

  test('auto_merge merges the default branch into a stale ref first (202), as GitHub does', async () => {
    await branchWithCommit('topic', { 't.txt': 't\n' });
    await gh.seed({ 'm.txt': 'm\n' });
    const response = await octokit.repos.createDeployment({ ...repo, ref: 'topic', required_contexts: [] });
    expect(response.status).toBe(202);
    expect(response.data).toEqual({ message: 'Auto-merged main into topic on deployment.' });
    expect(await git(['--git-dir', gh.bareRepo, 'show', 'topic:m.txt'])).toBe('m');
  });

  test('required contexts must pass unless the caller opts out', async () => {
    const sha = (await gh.branchSha('main')) as string;
    await octokit.repos.createCommitStatus({ ...repo, sha, state: 'failure', context: 'ci/build' });
    expect(await failure(octokit.repos.createDeployment({ ...repo, ref: 'main', auto_merge: false }))).toMatchObject({ status: 409 });
    expect((await octokit.repos.createDeployment({ ...repo, ref: 'main', auto_merge: false, required_contexts: [] })).status).toBe(201);
    expect((await octokit.repos.getCombinedStatusForRef({ ...repo, ref: 'main' })).data.state).toBe('failure');
  });
});

describe('GraphQL auto-merge', () => {
  const query = `query($owner: String!, $name: String!, $number: Int!) {
    repository(owner: $owner, name: $name) {
      pullRequest(number: $number) { id number state autoMergeRequest { enabledAt mergeMethod enabledBy { login } } }
    }
  }`;
  const enable = `mutation($id: ID!, $mergeMethod: PullRequestMergeMethod!) {
    enablePullRequestAutoMerge(input: { pullRequestId: $id, mergeMethod: $mergeMethod }) {
      pullRequest { id autoMergeRequest { mergeMethod } }
    }
  }`;

  test('arms auto-merge and merges when the required check passes', async () => {
    await start({ allowAutoMerge: true, protectedBranches: { main: { requiredStatusChecks: ['ci/build'] } } });
    const head = await branchWithCommit('bump', { 'flake.lock': '{}\n' });
    const pr = await octokit.pulls.create({ ...repo, title: 'bump', head: 'bump', base: 'main' });
    expect(pr.data.mergeable_state).toBe('blocked');

    const before = await octokit.graphql<{ repository: { pullRequest: { id: string; autoMergeRequest: unknown } } }>(query, { owner: 'acme', name: 'fleet', number: 1 });
    expect(before.repository.pullRequest).toMatchObject({ id: pr.data.node_id, autoMergeRequest: null });

    const enabled = await octokit.graphql<{ enablePullRequestAutoMerge: { pullRequest: { id: string; autoMergeRequest: { mergeMethod: string } } } }>(enable, { id: pr.data.node_id, mergeMethod: 'SQUASH' });
    expect(enabled.enablePullRequestAutoMerge.pullRequest).toEqual({ id: pr.data.node_id, autoMergeRequest: { mergeMethod: 'SQUASH' } });
    const after = await octokit.graphql<{ repository: { pullRequest: { autoMergeRequest: { mergeMethod: string; enabledBy: { login: string } } } } }>(query, { owner: 'acme', name: 'fleet', number: 1 });
    expect(after.repository.pullRequest.autoMergeRequest).toMatchObject({ mergeMethod: 'SQUASH', enabledBy: { login: 'github-actions' } });
    expect((await octokit.pulls.get({ ...repo, pull_number: 1 })).data.auto_merge).toMatchObject({ merge_method: 'squash' });

    await octokit.repos.createCommitStatus({ ...repo, sha: head, state: 'success', context: 'ci/build' });
    const merged = await octokit.pulls.get({ ...repo, pull_number: 1 });
    expect(merged.data).toMatchObject({ merged: true, state: 'closed' });
    expect(await git(['--git-dir', gh.bareRepo, 'log', '-1', '--format=%s', 'main'])).toBe('bump (#1)');
  });

  test('reports GitHub\'s errors: auto-merge disabled, clean status, unknown pull request, unknown field', async () => {
    await start();
    await branchWithCommit('bump', { 'flake.lock': '{}\n' });
    const pr = await octokit.pulls.create({ ...repo, title: 'bump', head: 'bump', base: 'main' });

    const disabled = await failure(octokit.graphql(enable, { id: pr.data.node_id, mergeMethod: 'MERGE' }));
    expect(disabled.message).toContain('Pull request Auto merge is not allowed for this repository');
    gh.updateSettings({ allowAutoMerge: true });
    const clean = await failure(octokit.graphql(enable, { id: pr.data.node_id, mergeMethod: 'MERGE' }));
    expect(clean.message).toContain('Pull request Pull request is in clean status');
    const missing = await failure(octokit.graphql(query, { owner: 'acme', name: 'fleet', number: 42 }));
    expect(missing.message).toContain('Could not resolve to a PullRequest with the number of 42.');
    expect(gh.violations).toEqual([]);

    const unknown = await failure(octokit.graphql('query { repository(owner: "acme", name: "fleet") { pullRequest(number: 1) { idd } } }'));
    expect(unknown.message).toContain("Field 'idd' doesn't exist on type 'PullRequest'");
    expect(gh.takeViolations().map((v) => v.kind)).toEqual(['graphql']);
  });
});

describe('GraphQL language support', () => {
  test('aliases, fragments, node lookups and mergePullRequest', async () => {
    await start();
    await branchWithCommit('bump', { 'flake.lock': '{}\n' });
    const pr = await octokit.pulls.create({ ...repo, title: 'bump', head: 'bump', base: 'main' });
    const result = await octokit.graphql<Record<string, Record<string, unknown>>>(`
      query Lookup($id: ID!, $first: Int = 5) {
        pr: node(id: $id) { __typename ... on PullRequest { ...Basics } }
        repo: repository(owner: "acme", name: "fleet") {
          nameWithOwner autoMergeAllowed
          defaultBranchRef { name target { oid } }
          open: pullRequests(states: [OPEN], first: $first) { totalCount nodes { number } }
        }
      }
      fragment Basics on PullRequest { number headRefName author { login __typename } }
    `, { id: pr.data.node_id });
    expect(result.pr).toEqual({ __typename: 'PullRequest', number: 1, headRefName: 'bump', author: { login: 'github-actions', __typename: 'Bot' } });
    expect(result.repo).toEqual({ nameWithOwner: 'acme/fleet', autoMergeAllowed: false, defaultBranchRef: { name: 'main', target: { oid: await gh.branchSha('main') } }, open: { totalCount: 1, nodes: [{ number: 1 }] } });

    const merged = await octokit.graphql<{ mergePullRequest: { pullRequest: { state: string; mergeCommit: { oid: string } } } }>(
      'mutation($id: ID!) { mergePullRequest(input: { pullRequestId: $id, mergeMethod: REBASE }) { pullRequest { state mergeCommit { oid } } } }',
      { id: pr.data.node_id },
    );
    expect(merged.mergePullRequest.pullRequest).toEqual({ state: 'MERGED', mergeCommit: { oid: await gh.branchSha('main') } });
  });
});

describe('validation against GitHub\'s OpenAPI description', () => {
  beforeEach(() => start());

  test('an invalid request body is answered with 422 and recorded', async () => {
    const response = await failure(octokit.request('POST /repos/{owner}/{repo}/pulls', { ...repo, title: 'x', head: 'bump' } as never));
    expect(response.status).toBe(422);
    expect(response.data.message).toMatch(/^Invalid request/);
    const [violation] = gh.takeViolations();
    expect(violation).toMatchObject({ kind: 'request', operationId: 'pulls/create' });
    expect(violation?.messages.join('\n')).toContain("must have required property 'base'");
  });

  test('wrong types in bodies and parameters are rejected', async () => {
    expect((await failure(octokit.request('POST /repos/{owner}/{repo}/labels', { ...repo, name: 5 } as never))).status).toBe(422);
    expect((await failure(octokit.request('GET /repos/{owner}/{repo}/pulls/{pull_number}', { ...repo, pull_number: 'abc' } as never))).status).toBe(422);
    expect((await failure(octokit.request('POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses', { ...repo, deployment_id: 1, state: 'done' } as never))).status).toBe(422);
    expect(gh.takeViolations()).toHaveLength(3);
  });

  test('unknown routes are 404 and recorded; keys GitHub ignores are recorded but served', async () => {
    expect((await failure(octokit.request('GET /repos/{owner}/{repo}/flakes', repo as never))).status).toBe(404);
    await branchWithCommit('bump', { 'flake.lock': '{}\n' });
    const created = await octokit.request('POST /repos/{owner}/{repo}/pulls', { ...repo, title: 't', head: 'bump', base: 'main', auto_merge: true } as never);
    expect(created.status).toBe(201);
    await octokit.pulls.list({ ...repo, head: 'bump' });
    const messages = gh.takeViolations().flatMap((v) => v.messages);
    expect(messages).toEqual([
      'no documented GitHub REST route for GET /repos/acme/fleet/flakes',
      'body has unknown property "auto_merge" (GitHub ignores it)',
      'pulls/list head filter "bump" is not "owner:branch": GitHub ignores it and lists every pull request',
    ]);
  });

  test('assertNoViolations and stop() list what went wrong', async () => {
    await failure(octokit.request('GET /repos/{owner}/{repo}/flakes', repo as never));
    expect(() => gh.assertNoViolations()).toThrow(/\[request\] GET \/repos\/acme\/fleet\/flakes/);
    const emulator = running.splice(0)[0] as GitHubEmulator;
    await expect(emulator.stop()).rejects.toThrow(/1 violation/);
  });

  test('response checks: nullable, formats, oneOf, enums and GitHub\'s documented loose spots', () => {
    const validator = openApiValidator();
    const label = { id: 1, node_id: 'LA_1', url: 'https://api.github.com/repos/acme/fleet/labels/x', name: 'x', color: 'ededed', default: false };
    const getLabel = operationById('issues/get-label');
    expect(validator.checkResponse(getLabel!, 200, { ...label, description: null })).toEqual([]);
    expect(validator.checkResponse(getLabel!, 200, { ...label, description: 5 })).not.toEqual([]);
    expect(validator.checkResponse(getLabel!, 200, { ...label, url: 'not a uri', description: null }).join()).toContain('must match format "uri"');
    expect(validator.checkResponse(getLabel!, 200, { ...label, description: null, extra: true })).toEqual([]);
    expect(validator.checkResponse(getLabel!, 201, { ...label, description: null })).toEqual(['status 201 is not documented for issues/get-label']);
    expect(validator.checkResponse(getLabel!, 404, { message: 'Not Found' })).toEqual([]);

    const merge = operationById('pulls/merge');
    expect(validator.checkResponse(merge!, 200, { sha: 'a', merged: 'yes', message: 'ok' }).join()).toContain('merged must be boolean');

    const addLabels = operationById('issues/add-labels')!;
    expect(validator.checkRequest(addLabels, { owner: 'acme', repo: 'fleet', issue_number: '1' }, new URLSearchParams(), { labels: ['a', { name: 'b' }] }).errors).toEqual([]);
    expect(validator.checkRequest(addLabels, { owner: 'acme', repo: 'fleet', issue_number: '1' }, new URLSearchParams(), { labels: [] }).errors).not.toEqual([]);
    const list = operationById('pulls/list')!;
    const checked = validator.checkRequest(list, { owner: 'acme', repo: 'fleet' }, new URLSearchParams('state=merged&per_page=10&colour=red'), undefined);
    expect(checked.errors.join()).toContain('must be equal to one of the allowed values');
    expect(checked.warnings).toEqual(['query parameter "colour" is not documented for pulls/list (GitHub ignores it)']);
    expect(checked.query.per_page).toBe(10);
  });
});

describe('authentication, permissions and faults', () => {
  beforeEach(() => start());

  test('requires the token', async () => {
    const anonymous = new Octokit({ baseUrl: gh.apiUrl, log: silent });
    expect(await failure(anonymous.repos.get(repo))).toMatchObject({ status: 401, data: { message: 'Requires authentication' } });
    const wrong = new Octokit({ baseUrl: gh.apiUrl, auth: 'ghs_wrong', log: silent });
    expect(await failure(wrong.repos.get(repo))).toMatchObject({ status: 401, data: { message: 'Bad credentials' } });
    const bearer = await fetch(`${gh.apiUrl}/repos/acme/fleet`, { headers: { authorization: `Bearer ${gh.token}` } });
    expect(bearer.status).toBe(200);
  });

  test('GitHub Actions not permitted to create pull requests', async () => {
    await branchWithCommit('bump', { 'flake.lock': '{}\n' });
    gh.setTokenPermissions({ allowActionsToCreatePullRequests: false });
    const denied = await failure(octokit.pulls.create({ ...repo, title: 'bump', head: 'bump', base: 'main' }));
    expect(denied).toMatchObject({ status: 403, data: { message: actionsCannotCreatePullRequestsMessage } });
    expect(gh.state.pulls.size).toBe(0);
  });

  test('a token without a permission gets "Resource not accessible by integration"', async () => {
    gh.setTokenPermissions({ contents: 'read', deployments: 'none' });
    expect(await failure(octokit.git.createBlob({ ...repo, content: 'x' }))).toMatchObject({ status: 403, data: { message: 'Resource not accessible by integration' } });
    // GitHub names what would do in X-Accepted-GitHub-Permissions.
    const refused = await octokit.git.createBlob({ ...repo, content: 'x' }).catch((e: { response: { headers: Record<string, string> } }) => e.response.headers);
    expect((refused as Record<string, string>)['x-accepted-github-permissions']).toBe('contents=write');
    expect((await failure(octokit.repos.listDeployments(repo))).status).toBe(403);
    expect((await octokit.git.getRef({ ...repo, ref: 'heads/main' })).status).toBe(200);
    expect((await octokit.repos.get(repo)).data.permissions?.push).toBe(false);
  });

  test('failNext injects an error once, then the route works again', async () => {
    gh.failNext('GET', '/repos/{owner}/{repo}/git/ref/{ref}', 502);
    gh.failNext('POST', /\/labels$/, 500, { message: 'boom' }, { times: 2 });
    expect((await failure(octokit.git.getRef({ ...repo, ref: 'heads/main' }))).status).toBe(502);
    expect((await octokit.git.getRef({ ...repo, ref: 'heads/main' })).status).toBe(200);
    expect((await failure(octokit.issues.createLabel({ ...repo, name: 'x' }))).data).toEqual({ message: 'boom' });
    expect((await failure(octokit.issues.createLabel({ ...repo, name: 'x' }))).status).toBe(500);
    expect((await octokit.issues.createLabel({ ...repo, name: 'x' })).status).toBe(201);
    expect(gh.requests.filter((r) => r.injected).map((r) => `${r.method} ${r.status}`)).toEqual(['GET 502', 'POST 500', 'POST 500']);
  });

  test('the request log records operations, bodies and statuses', async () => {
    gh.clearRequests();
    await octokit.issues.createLabel({ ...repo, name: 'wave:first', color: 'ff0000' });
    expect(gh.requests).toEqual([expect.objectContaining({ method: 'POST', path: '/repos/acme/fleet/labels', operationId: 'issues/create-label', status: 201, requestBody: { name: 'wave:first', color: 'ff0000' } })]);
  });
});

describe('GitHub Enterprise Server shape', () => {
  it('serves REST under /api/v3 and GraphQL at /api/graphql, and nothing at the root', async () => {
    await start({ enterprise: true, serverUrl: 'https://ghe.example.org' });
    const origin = new URL(gh.apiUrl).origin;
    expect(gh.apiUrl).toBe(`${origin}/api/v3`);
    expect(gh.graphqlUrl).toBe(`${origin}/api/graphql`);
    const repo = await octokit.rest.repos.get({ owner: 'acme', repo: 'fleet' });
    expect(repo.data.html_url).toBe('https://ghe.example.org/acme/fleet');
    expect(repo.data.url).toBe(`${origin}/api/v3/repos/acme/fleet`);
    const graphql = await fetch(gh.graphqlUrl, { method: 'POST', headers: { authorization: `bearer ${gh.token}` }, body: JSON.stringify({ query: '{ repository(owner: "acme", name: "fleet") { name } }' }) });
    expect(await graphql.json()).toEqual({ data: { repository: { name: 'fleet' } } });
    for (const path of ['/repos/acme/fleet', '/graphql']) {
      const response = await fetch(`${origin}${path}`, { method: path === '/graphql' ? 'POST' : 'GET', headers: { authorization: `bearer ${gh.token}` }, body: path === '/graphql' ? '{}' : null });
      expect(response.status).toBe(404);
    }
  });
});

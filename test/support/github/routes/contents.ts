import { webFlow, type EmulatorCore } from '../core.js';
import { readBlob, readCommit, readTree, writeBlob, writeCommit, type TreeEntry } from '../git/objects.js';
import { branchSha, updateRef } from '../git/refs.js';
import { editTree } from '../git/tree-edit.js';
import { conflict, errorBody, HttpError, notFound, validationFailed } from '../http-errors.js';
import { renderGitCommit } from '../render/commits.js';
import { resolveCommitish } from './commits.js';
import { wrappedBase64 } from './git-data.js';
import { json, stringParam, type RouteTable, rawReply, wantsRaw } from './types.js';

const encodePath = (path: string): string => path.split('/').map(encodeURIComponent).join('/');

function entryType(entry: TreeEntry): 'file' | 'dir' | 'symlink' | 'submodule' {
  if (entry.type === 'tree') return 'dir';
  if (entry.type === 'commit') return 'submodule';
  return entry.mode === '120000' ? 'symlink' : 'file';
}

/** The fields every contents item shares. */
function contentItem(core: EmulatorCore, entry: TreeEntry, path: string, ref: string): Record<string, unknown> {
  const type = entryType(entry);
  const self = core.urls.repo(`/contents/${encodePath(path)}?ref=${encodeURIComponent(ref)}`);
  const git = core.urls.repo(`/git/${type === 'dir' ? 'trees' : 'blobs'}/${entry.sha}`);
  const html = core.urls.html(`/${type === 'dir' ? 'tree' : 'blob'}/${ref}/${encodePath(path)}`);
  return {
    type,
    size: entry.size ?? 0,
    name: path.split('/').pop() ?? path,
    path,
    sha: entry.sha,
    url: self,
    git_url: git,
    html_url: html,
    download_url: type === 'file' ? core.urls.html(`/raw/${ref}/${encodePath(path)}`) : null,
    _links: { self, git, html },
  };
}

/** Finds one path in a commit's tree (listing the parent directory, as `ls-tree` needs). */
async function lookup(core: EmulatorCore, commitSha: string, path: string): Promise<TreeEntry | undefined> {
  const slash = path.lastIndexOf('/');
  const dir = slash === -1 ? '' : path.slice(0, slash);
  const name = path.slice(slash + 1);
  try {
    const entries = await readTree(core.git, dir ? `${commitSha}:${dir}` : `${commitSha}^{tree}`);
    return entries.find((e) => e.path === name);
  } catch {
    return undefined;
  }
}

interface PersonInput {
  name: string;
  email: string;
  date?: string;
}

export const contentRoutes: RouteTable = {
  'repos/get-content': {
    permission: { contents: 'read' },
    handle: async (ctx) => {
      const { core } = ctx;
      const path = stringParam(ctx, 'path').replace(/^\/+|\/+$/g, '');
      const ref = String(ctx.query.ref ?? core.settings.defaultBranch);
      const commit = await resolveCommitish(core, ref);
      if (!commit) throw new HttpError(404, errorBody(404, `No commit found for the ref ${ref}`));
      if (path === '') {
        const entries = await readTree(core.git, `${commit}^{tree}`);
        return json(200, entries.map((e) => contentItem(core, e, e.path, ref)));
      }
      const entry = await lookup(core, commit, path);
      if (!entry) throw notFound();
      if (entry.type === 'tree') {
        const entries = await readTree(core.git, entry.sha);
        return json(200, entries.map((e) => contentItem(core, e, `${path}/${e.path}`, ref)));
      }
      const item = contentItem(core, entry, path, ref);
      if (entry.type === 'commit') return json(200, { ...item, submodule_git_url: '' });
      const data = await readBlob(core.git, entry.sha);
      if (entryType(entry) === 'symlink') return json(200, { ...item, target: data.toString('utf8') });
      if (wantsRaw(ctx)) return rawReply(data);
      return json(200, { ...item, content: wrappedBase64(data), encoding: 'base64' });
    },
  },

  'repos/create-or-update-file-contents': {
    permission: { contents: 'write' },
    handle: async (ctx) => {
      const { core } = ctx;
      const path = stringParam(ctx, 'path').replace(/^\/+|\/+$/g, '');
      const input = ctx.body as { message: string; content: string; sha?: string; branch?: string; committer?: PersonInput; author?: PersonInput };
      const branch = input.branch ?? core.settings.defaultBranch;
      const parent = await branchSha(core.git, branch);
      if (!parent) throw new HttpError(404, errorBody(404, `Branch ${branch} not found`));
      const existing = await lookup(core, parent, path);
      if (existing && !input.sha) throw validationFailed({ resource: 'Contents', code: 'missing_field', field: 'sha', message: '"sha" wasn\'t supplied.' });
      if (existing && input.sha !== existing.sha) throw conflict(`${path} does not match ${input.sha}`);
      if (!existing && input.sha) throw conflict(`${path} does not match ${input.sha}`);
      const blob = await writeBlob(core.git, Buffer.from(input.content, 'base64'));
      const parentCommit = await readCommit(core.git, parent);
      const tree = await editTree(core.git, parentCommit.tree, [{ path, mode: existing?.mode ?? '100644', type: 'blob', sha: blob }]);
      const now = core.timestamp();
      const committerInput = input.committer ?? input.author;
      const author = { name: (input.author ?? committerInput)?.name ?? core.actor.name, email: (input.author ?? committerInput)?.email ?? core.actor.email, date: (input.author ?? committerInput)?.date ?? now };
      const committer = committerInput ? { name: committerInput.name, email: committerInput.email, date: committerInput.date ?? now } : { ...webFlow, date: now };
      const sha = await writeCommit(core.git, { tree, parents: [parent], message: input.message, author, committer });
      if (!committerInput) core.state.signedCommits.add(sha);
      if (!(await updateRef(core.git, `refs/heads/${branch}`, sha, parent))) throw conflict(`is at ${sha} but expected ${parent}`);
      const entry = (await lookup(core, sha, path)) as TreeEntry;
      return json(existing ? 200 : 201, { content: contentItem(core, entry, path, branch), commit: renderGitCommit(core, await readCommit(core.git, sha)) });
    },
  },
};

import { webFlow, type EmulatorCore } from '../core.js';
import { isSha, objectType, readBlob, readCommit, readTree, resolve, writeBlob, writeCommit, type GitPerson, type TreeEntry } from '../git/objects.js';
import { deleteRef, isAncestor, isValidRefName, listRefs, readRef, updateRef, type RefInfo } from '../git/refs.js';
import { editTree, TreeEditError, type TreeChange } from '../git/tree-edit.js';
import { notFound, unprocessable } from '../http-errors.js';
import { renderGitCommit } from '../render/commits.js';
import { json, stringParam, type RouteTable, rawReply, wantsRaw } from './types.js';

/** GitHub wraps base64 content at 60 characters per line. */
export function wrappedBase64(data: Buffer): string {
  const encoded = data.toString('base64');
  return encoded.replace(/.{60}/g, '$&\n') + (encoded.length % 60 === 0 && encoded.length > 0 ? '' : '\n');
}

function renderRef(core: EmulatorCore, ref: RefInfo): Record<string, unknown> {
  const kind = ref.type === 'tag' ? 'tags' : ref.type === 'tree' ? 'trees' : ref.type === 'blob' ? 'blobs' : 'commits';
  return {
    ref: ref.ref,
    node_id: `REF_kwDO${Buffer.from(`${core.state.repoId}:${ref.ref}`).toString('base64url')}`,
    url: core.urls.repo(`/git/${ref.ref}`),
    object: { type: ref.type, sha: ref.sha, url: core.urls.repo(`/git/${kind}/${ref.sha}`) },
  };
}

function treeEntryUrl(core: EmulatorCore, entry: TreeEntry): string | undefined {
  if (entry.type === 'blob') return core.urls.repo(`/git/blobs/${entry.sha}`);
  if (entry.type === 'tree') return core.urls.repo(`/git/trees/${entry.sha}`);
  return undefined;
}

async function renderTree(core: EmulatorCore, sha: string, recursive: boolean): Promise<Record<string, unknown>> {
  const entries = await readTree(core.git, sha, recursive);
  return {
    sha,
    url: core.urls.repo(`/git/trees/${sha}`),
    tree: entries.map((e) => {
      const url = treeEntryUrl(core, e);
      return { path: e.path, mode: e.mode, type: e.type, sha: e.sha, ...(e.size !== undefined ? { size: e.size } : {}), ...(url ? { url } : {}) };
    }),
    truncated: false,
  };
}

interface PersonInput {
  name: string;
  email: string;
  date?: string;
}

function person(core: EmulatorCore, input: PersonInput | undefined, fallback: Pick<GitPerson, 'name' | 'email'>): GitPerson {
  return { name: input?.name ?? fallback.name, email: input?.email ?? fallback.email, date: input?.date ?? core.timestamp() };
}

/** `heads/main` from the path; GitHub's ref routes take the name without `refs/`. */
const fullRefName = (ref: string): string => `refs/${ref}`;

export const gitDataRoutes: RouteTable = {
  'git/create-blob': {
    permission: { contents: 'write' },
    handle: async ({ core, body }) => {
      const { content, encoding = 'utf-8' } = body as { content: string; encoding?: string };
      if (encoding !== 'utf-8' && encoding !== 'utf8' && encoding !== 'base64') throw unprocessable(`encoding must be either "utf-8" or "base64", got "${encoding}"`);
      const sha = await writeBlob(core.git, Buffer.from(content, encoding === 'base64' ? 'base64' : 'utf8'));
      const url = core.urls.repo(`/git/blobs/${sha}`);
      return json(201, { url, sha }, { location: url });
    },
  },

  'git/get-blob': {
    permission: { contents: 'read' },
    handle: async (ctx) => {
      const sha = stringParam(ctx, 'file_sha');
      if (!isSha(sha) || (await objectType(ctx.core.git, sha)) !== 'blob') throw notFound();
      const data = await readBlob(ctx.core.git, sha);
      if (wantsRaw(ctx)) return rawReply(data);
      return json(200, { sha, node_id: `B_kwDO${Buffer.from(sha).toString('base64url')}`, size: data.length, url: ctx.core.urls.repo(`/git/blobs/${sha}`), content: wrappedBase64(data), encoding: 'base64' });
    },
  },

  'git/create-tree': {
    permission: { contents: 'write' },
    handle: async ({ core, body }) => {
      const input = body as { base_tree?: string; tree: Array<{ path: string; mode: string; type: TreeChange['type']; sha?: string | null; content?: string }> };
      const baseTree = input.base_tree ? await resolve(core.git, input.base_tree, 'tree') : undefined;
      if (input.base_tree && !baseTree) throw unprocessable('Invalid tree info');
      const changes: TreeChange[] = [];
      for (const entry of input.tree) {
        let sha = entry.sha;
        if (entry.content !== undefined) {
          if (entry.type !== 'blob') throw unprocessable('Invalid tree info');
          sha = await writeBlob(core.git, Buffer.from(entry.content, 'utf8'));
        } else if (sha === undefined) {
          throw unprocessable('Must supply either tree.sha or tree.content');
        } else if (sha !== null && entry.type !== 'commit' && (await objectType(core.git, sha)) !== entry.type) {
          // GitHub rejects entries pointing at missing objects (submodule commits need not exist).
          throw unprocessable('Invalid tree info');
        }
        changes.push({ path: entry.path, mode: entry.mode, type: entry.type, sha: sha ?? null });
      }
      try {
        const sha = await editTree(core.git, baseTree, changes);
        return json(201, await renderTree(core, sha, false), { location: core.urls.repo(`/git/trees/${sha}`) });
      } catch (error) {
        if (error instanceof TreeEditError) throw unprocessable(`Invalid tree info: ${error.message}`);
        throw error;
      }
    },
  },

  'git/get-tree': {
    permission: { contents: 'read' },
    handle: async (ctx) => {
      const sha = await resolve(ctx.core.git, stringParam(ctx, 'tree_sha'), 'tree');
      if (!sha) throw notFound();
      // GitHub treats any value of `recursive` (even "false") as recursive.
      return json(200, await renderTree(ctx.core, sha, ctx.query.recursive !== undefined));
    },
  },

  'git/create-commit': {
    permission: { contents: 'write' },
    handle: async ({ core, body }) => {
      const input = body as { message: string; tree: string; parents?: string[]; author?: PersonInput; committer?: PersonInput };
      if (!isSha(input.tree) || (await objectType(core.git, input.tree)) !== 'tree') throw unprocessable('Tree SHA does not exist');
      for (const parent of input.parents ?? []) {
        if (!isSha(parent) || (await objectType(core.git, parent)) !== 'commit') throw unprocessable('Parent SHA does not exist or is not a commit object');
      }
      const actor = { name: core.actor.name, email: core.actor.email };
      const author = person(core, input.author, actor);
      // Without custom identities GitHub commits as the token's account and signs with web-flow.
      const custom = input.author !== undefined || input.committer !== undefined;
      const committer = input.committer ? person(core, input.committer, actor) : input.author ? author : { ...webFlow, date: author.date };
      const sha = await writeCommit(core.git, { tree: input.tree, parents: input.parents ?? [], message: input.message, author, committer });
      if (!custom) core.state.signedCommits.add(sha);
      const url = core.urls.repo(`/git/commits/${sha}`);
      return json(201, renderGitCommit(core, await readCommit(core.git, sha)), { location: url });
    },
  },

  'git/get-commit': {
    permission: { contents: 'read' },
    handle: async (ctx) => {
      const sha = stringParam(ctx, 'commit_sha');
      if (!isSha(sha) || (await objectType(ctx.core.git, sha)) !== 'commit') throw notFound();
      return json(200, renderGitCommit(ctx.core, await readCommit(ctx.core.git, sha)));
    },
  },

  'git/get-ref': {
    permission: { contents: 'read' },
    handle: async (ctx) => {
      const ref = await readRef(ctx.core.git, fullRefName(stringParam(ctx, 'ref')));
      if (!ref) throw notFound();
      return json(200, renderRef(ctx.core, ref));
    },
  },

  'git/list-matching-refs': {
    permission: { contents: 'read' },
    handle: async (ctx) => {
      const refs = await listRefs(ctx.core.git, fullRefName(stringParam(ctx, 'ref')));
      return json(200, refs.map((r) => renderRef(ctx.core, r)));
    },
  },

  'git/create-ref': {
    permission: { contents: 'write' },
    handle: async ({ core, body }) => {
      const { ref, sha } = body as { ref: string; sha: string };
      if (!ref.startsWith('refs/') || ref.split('/').length < 3 || !(await isValidRefName(core.git, ref))) {
        throw unprocessable(`${ref} is not a valid ref name.`);
      }
      if (!isSha(sha) || !(await objectType(core.git, sha))) throw unprocessable('Object does not exist');
      if (await readRef(core.git, ref)) throw unprocessable('Reference already exists');
      // Compare-and-swap on "absent": a concurrent push of the same ref loses like on GitHub.
      if (!(await updateRef(core.git, ref, sha, ''))) throw unprocessable('Reference update failed');
      const created = (await readRef(core.git, ref)) as RefInfo;
      return json(201, renderRef(core, created), { location: core.urls.repo(`/git/${ref}`) });
    },
  },

  'git/update-ref': {
    permission: { contents: 'write' },
    handle: async (ctx) => {
      const { core } = ctx;
      const { sha, force = false } = ctx.body as { sha: string; force?: boolean };
      const name = fullRefName(stringParam(ctx, 'ref'));
      const current = await readRef(core.git, name);
      if (!current) throw unprocessable('Reference does not exist');
      if (!isSha(sha) || !(await objectType(core.git, sha))) throw unprocessable('Object does not exist');
      if (!force && current.sha !== sha && !(await isAncestor(core.git, current.sha, sha))) throw unprocessable('Update is not a fast forward');
      // Compare-and-swap against what was checked: a concurrent push makes this fail like GitHub's lock.
      if (!(await updateRef(core.git, name, sha, current.sha))) throw unprocessable('Reference cannot be updated');
      return json(200, renderRef(core, (await readRef(core.git, name)) as RefInfo));
    },
  },

  'git/delete-ref': {
    permission: { contents: 'write' },
    handle: async (ctx) => {
      const name = fullRefName(stringParam(ctx, 'ref'));
      if (!(await readRef(ctx.core.git, name)) || !(await deleteRef(ctx.core.git, name))) throw unprocessable('Reference does not exist');
      return json(204);
    },
  },
};

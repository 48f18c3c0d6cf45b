import type { FlakeRefAttrs } from '../nix/index.js';

/** How a user would write a flake reference (`github:NixOS/nixpkgs/nixos-24.11`), for tables and messages. */
export function formatFlakeRef(ref: FlakeRefAttrs | undefined): string {
  if (!ref) return '';
  const query = (params: Record<string, unknown>): string => {
    const pairs = Object.entries(params).filter(([, v]) => v !== undefined && v !== '' && v !== false);
    return pairs.length ? `?${pairs.map(([k, v]) => `${k}=${String(v)}`).join('&')}` : '';
  };
  switch (ref.type) {
    case 'github':
    case 'gitlab':
    case 'sourcehut': {
      const path = [ref.owner, ref.repo, ref.rev ?? ref.ref].filter(Boolean).join('/');
      return `${ref.type}:${path}${query({ host: ref.host, dir: ref.dir })}`;
    }
    case 'git':
    case 'hg':
    case 'mercurial':
      return `${ref.type === 'git' ? 'git' : 'hg'}+${ref.url ?? ''}${query({ ref: ref.ref, rev: ref.rev, dir: ref.dir, submodules: ref.submodules })}`;
    case 'path':
      return `path:${ref.path ?? ''}`;
    case 'tarball':
    case 'file':
      return String(ref.url ?? '');
    case 'indirect':
      return `flake:${String(ref.id ?? '')}${ref.ref ? `/${ref.ref}` : ''}${ref.rev ? `/${ref.rev}` : ''}`;
    default:
      return ref.type;
  }
}

export const shortRev = (rev: string | undefined): string | undefined => rev?.slice(0, 7);

/** `lastModified` (seconds) as an ISO date, `2024-11-08`. */
export function formatLockDate(lastModified: number | undefined): string | undefined {
  if (lastModified === undefined || !Number.isFinite(lastModified)) return undefined;
  return new Date(lastModified * 1000).toISOString().slice(0, 10);
}

interface ForgeRepo {
  forge: 'github' | 'gitlab' | 'sourcehut';
  host: string;
  owner: string;
  repo: string;
}

/** The forge repository behind a locked reference, when it is one we can link to. */
export function forgeRepoOf(ref: FlakeRefAttrs | undefined): ForgeRepo | undefined {
  if (!ref) return undefined;
  if ((ref.type === 'github' || ref.type === 'gitlab' || ref.type === 'sourcehut') && ref.owner && ref.repo) {
    const defaultHost = { github: 'github.com', gitlab: 'gitlab.com', sourcehut: 'git.sr.ht' }[ref.type];
    return { forge: ref.type, host: ref.host ?? defaultHost, owner: ref.owner, repo: ref.repo };
  }
  if (ref.type === 'git' && ref.url) return forgeRepoOfGitUrl(ref.url);
  return undefined;
}

/** `https://github.com/O/R.git`, `ssh://git@gitlab.com/O/R`, `git@github.com:O/R.git` and the like. */
export function forgeRepoOfGitUrl(url: string): ForgeRepo | undefined {
  const scp = /^[\w.-]+@([\w.-]+):(.+)$/.exec(url);
  let host: string;
  let path: string;
  if (scp) {
    host = scp[1] as string;
    path = scp[2] as string;
  } else {
    let parsed: URL;
    try {
      parsed = new URL(url.replace(/^git\+/, ''));
    } catch {
      return undefined;
    }
    if (!['https:', 'http:', 'ssh:', 'git:'].includes(parsed.protocol)) return undefined;
    host = parsed.hostname;
    path = parsed.pathname;
  }
  const parts = path.replace(/^\/+/, '').replace(/\.git$/, '').replace(/\/+$/, '').split('/');
  if (host === 'github.com' && parts.length === 2) return { forge: 'github', host, owner: parts[0] as string, repo: parts[1] as string };
  if (host === 'git.sr.ht' && parts.length === 2 && parts[0]?.startsWith('~')) {
    return { forge: 'sourcehut', host, owner: parts[0], repo: parts[1] as string };
  }
  if ((host === 'gitlab.com' || host.startsWith('gitlab.')) && parts.length >= 2) {
    return { forge: 'gitlab', host, owner: parts.slice(0, -1).join('/'), repo: parts.at(-1) as string };
  }
  return undefined;
}

/**
 * A link showing the commits between two locked revisions of the same repository: GitHub and
 * GitLab compare views; sourcehut has no compare view, so its log from the new revision.
 */
export function compareUrl(before: FlakeRefAttrs | undefined, after: FlakeRefAttrs | undefined): string | undefined {
  const from = forgeRepoOf(before);
  const to = forgeRepoOf(after);
  if (!from || !to || !before?.rev || !after?.rev || before.rev === after.rev) return undefined;
  if (from.forge !== to.forge || from.host !== to.host || from.owner.toLowerCase() !== to.owner.toLowerCase() || from.repo.toLowerCase() !== to.repo.toLowerCase()) {
    return undefined;
  }
  const base = `https://${to.host}/${to.owner}/${to.repo}`;
  switch (to.forge) {
    case 'github':
      return `${base}/compare/${before.rev}...${after.rev}`;
    case 'gitlab':
      return `${base}/-/compare/${before.rev}...${after.rev}`;
    case 'sourcehut':
      return `${base}/log/${after.rev}`;
  }
}

/** A link to one locked revision (the commit page), when the forge is known. */
export function commitUrl(ref: FlakeRefAttrs | undefined): string | undefined {
  const repo = forgeRepoOf(ref);
  if (!repo || !ref?.rev) return undefined;
  const base = `https://${repo.host}/${repo.owner}/${repo.repo}`;
  switch (repo.forge) {
    case 'github':
      return `${base}/commit/${ref.rev}`;
    case 'gitlab':
      return `${base}/-/commit/${ref.rev}`;
    case 'sourcehut':
      return `${base}/commit/${ref.rev}`;
  }
}

import type { GitRunner } from './git.js';

export type ObjectType = 'blob' | 'tree' | 'commit' | 'tag';

export interface TreeEntry {
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  sha: string;
  /** The name within its tree, or the full path for recursive listings. */
  path: string;
  /** Blob size in bytes; absent for trees and submodules. */
  size?: number;
}

export interface GitPerson {
  name: string;
  email: string;
  /** ISO 8601 with an offset, as git and GitHub print it. */
  date: string;
}

export interface CommitObject {
  sha: string;
  tree: string;
  parents: string[];
  author: GitPerson;
  committer: GitPerson;
  message: string;
  /** The raw commit text without its signature (GitHub's `verification.payload`). */
  payload: string;
  signature?: string;
}

export const emptyTreeSha = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const shaPattern = /^[0-9a-f]{40}$/;

export function isSha(value: string): boolean {
  return shaPattern.test(value);
}

export async function writeBlob(git: GitRunner, content: Buffer): Promise<string> {
  return git.text(['hash-object', '-w', '--no-filters', '--stdin'], { input: content });
}

export async function objectType(git: GitRunner, rev: string): Promise<ObjectType | undefined> {
  const result = await git.run(['cat-file', '-t', rev], { allowFailure: true });
  return result.code === 0 ? (result.stdout.toString('utf8').trim() as ObjectType) : undefined;
}

export async function readBlob(git: GitRunner, sha: string): Promise<Buffer> {
  return (await git.run(['cat-file', 'blob', sha])).stdout;
}

/** Resolves any revision (sha, branch, `heads/x`, tag) to an object of the given kind. */
export async function resolve(git: GitRunner, rev: string, kind: 'commit' | 'tree' = 'commit'): Promise<string | undefined> {
  if (!rev || rev.startsWith('-')) return undefined;
  const result = await git.run(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{${kind}}`], { allowFailure: true });
  return result.code === 0 ? result.stdout.toString('utf8').trim() : undefined;
}

/** Whether a revision names an object by sha (so what it resolves to never changes). */
const immutable = (rev: string): boolean => /^[0-9a-f]{40}(?:$|[:^])/.test(rev);

export async function readTree(git: GitRunner, treeish: string, recursive = false): Promise<TreeEntry[]> {
  if (immutable(treeish)) return git.memo(`ls-tree:${recursive}:${treeish}`, () => listTree(git, treeish, recursive));
  return listTree(git, treeish, recursive);
}

async function listTree(git: GitRunner, treeish: string, recursive: boolean): Promise<TreeEntry[]> {
  const args = ['ls-tree', '-l', '-z', ...(recursive ? ['-r', '-t'] : []), treeish];
  const out = (await git.run(args)).stdout.toString('utf8');
  return out.split('\0').filter(Boolean).map((line) => {
    const tab = line.indexOf('\t');
    const [mode, type, sha, size] = line.slice(0, tab).split(/ +/) as [string, TreeEntry['type'], string, string];
    const entry: TreeEntry = { mode, type, sha, path: line.slice(tab + 1) };
    if (size !== '-' && size !== undefined) entry.size = Number(size);
    return entry;
  });
}

/** Writes one tree level; entries' paths are plain names. */
export async function writeTree(git: GitRunner, entries: readonly TreeEntry[]): Promise<string> {
  const input = entries.map((e) => `${e.mode} ${e.type} ${e.sha}\t${e.path}\0`).join('');
  return git.text(['mktree', '-z'], { input });
}

function toIsoDate(seconds: string, offset: string): string {
  const sign = offset.startsWith('-') ? -1 : 1;
  const minutes = sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(3, 5)));
  const local = new Date((Number(seconds) + minutes * 60) * 1000).toISOString().replace(/\.000Z$/, '');
  return minutes === 0 ? `${local}Z` : `${local}${offset.slice(0, 3)}:${offset.slice(3)}`;
}

function parsePerson(value: string): GitPerson {
  const match = /^(.*) <(.*)> (\d+) ([+-]\d{4})$/.exec(value);
  if (!match) return { name: value, email: '', date: new Date(0).toISOString() };
  return { name: match[1] as string, email: match[2] as string, date: toIsoDate(match[3] as string, match[4] as string) };
}

export function readCommit(git: GitRunner, sha: string): Promise<CommitObject> {
  return isSha(sha) ? git.memo(`commit:${sha}`, () => parseCommit(git, sha)) : parseCommit(git, sha);
}

async function parseCommit(git: GitRunner, sha: string): Promise<CommitObject> {
  const raw = (await git.run(['cat-file', 'commit', sha])).stdout.toString('utf8');
  const split = raw.indexOf('\n\n');
  const headerText = split === -1 ? raw : raw.slice(0, split);
  const message = split === -1 ? '' : raw.slice(split + 2);
  const commit: CommitObject = { sha, tree: '', parents: [], author: parsePerson(''), committer: parsePerson(''), message, payload: raw };
  const payloadLines: string[] = [];
  const signatureLines: string[] = [];
  let inSignature = false;
  for (const line of headerText.split('\n')) {
    if (inSignature && line.startsWith(' ')) {
      signatureLines.push(line.slice(1));
      continue;
    }
    inSignature = false;
    const space = line.indexOf(' ');
    const key = line.slice(0, space);
    const value = line.slice(space + 1);
    if (key === 'gpgsig' || key === 'gpgsig-sha256') {
      inSignature = true;
      signatureLines.push(value);
      continue;
    }
    payloadLines.push(line);
    if (key === 'tree') commit.tree = value;
    else if (key === 'parent') commit.parents.push(value);
    else if (key === 'author') commit.author = parsePerson(value);
    else if (key === 'committer') commit.committer = parsePerson(value);
  }
  if (signatureLines.length > 0) {
    commit.signature = signatureLines.join('\n');
    commit.payload = `${payloadLines.join('\n')}\n\n${message}`;
  }
  return commit;
}

export interface NewCommit {
  tree: string;
  parents: readonly string[];
  message: string;
  author: GitPerson;
  committer: GitPerson;
}

export async function writeCommit(git: GitRunner, commit: NewCommit): Promise<string> {
  const args = ['commit-tree', commit.tree, ...commit.parents.flatMap((p) => ['-p', p]), '-F', '-'];
  return git.text(args, {
    input: commit.message,
    env: {
      GIT_AUTHOR_NAME: commit.author.name,
      GIT_AUTHOR_EMAIL: commit.author.email,
      GIT_AUTHOR_DATE: commit.author.date,
      GIT_COMMITTER_NAME: commit.committer.name,
      GIT_COMMITTER_EMAIL: commit.committer.email,
      GIT_COMMITTER_DATE: commit.committer.date,
    },
  });
}

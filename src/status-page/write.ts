import { constants } from 'node:fs';
import { mkdir, open, realpath } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { pathInside } from '../wave/inventory-source.js';

/**
 * Writes `html` to `path` (relative to `workspace`, already checked to stay inside it as text) and
 * returns the absolute path. A symbolic link in the checkout cannot carry the write elsewhere: the
 * folders are checked once resolved, before any is made, and the file itself is never followed.
 */
export async function writePageInside(workspace: string, path: string, html: string): Promise<string> {
  const root = await realpath(workspace);
  const file = resolve(workspace, path);
  const folder = dirname(file);
  await assertInside(root, await nearestExisting(folder), path);
  await mkdir(folder, { recursive: true });
  await assertInside(root, await realpath(folder), path);
  const handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
  try {
    await handle.writeFile(html, 'utf8');
  } finally {
    await handle.close();
  }
  return file;
}

/** The real path of `folder`, or of its closest ancestor that exists. */
async function nearestExisting(folder: string): Promise<string> {
  for (let at = folder; ; at = dirname(at)) {
    try {
      return await realpath(at);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(at) === at) throw error;
    }
  }
}

async function assertInside(root: string, real: string, path: string): Promise<void> {
  if (real !== root && pathInside(root, real) === undefined) throw new Error(`${path} leads outside the workspace (through a symbolic link to ${real}); give a path inside it`);
}

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../harness.js';

function yamlFilesUnder(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return yamlFilesUnder(path);
    return /\.ya?ml$/.test(entry) ? [path] : [];
  });
}

const isWorkflow = (text: string) => /^(on|jobs):/m.test(text);

/** The workflows we ship and document: the reusable ones in .github/workflows and the example callers. */
export function repositoryWorkflows(): string[] {
  return [...yamlFilesUnder(join(repoRoot, '.github', 'workflows')), ...yamlFilesUnder(join(repoRoot, 'examples'))].filter((f) => isWorkflow(readFileSync(f, 'utf8')));
}

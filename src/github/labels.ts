import type { GitHubClient, RepoRef } from './client.js';
import { githubErrorMessage, httpStatusOf, isNotFound } from './errors.js';

export interface LabelStyle {
  /** Six hex digits without `#`. */
  color?: string;
  description?: string;
}

/** Colours for labels this suite creates, so they look the same in every repository. */
const KNOWN_STYLES: Record<string, LabelStyle> = {
  dependencies: { color: '0366d6', description: 'Pull requests that update a dependency file' },
};

/**
 * Makes sure each label exists (creating the missing ones). Returns the names as the repository
 * spells them (GitHub label names are case-insensitive).
 */
export async function ensureLabels(client: GitHubClient, repo: RepoRef, names: readonly string[], style: LabelStyle = {}): Promise<string[]> {
  const result: string[] = [];
  for (const name of [...new Set(names)]) {
    try {
      const { data } = await client.octokit.rest.issues.getLabel({ ...repo, name });
      result.push(data.name);
      continue;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    const known = KNOWN_STYLES[name.toLowerCase()] ?? {};
    try {
      const { data } = await client.octokit.rest.issues.createLabel({
        ...repo,
        name,
        color: style.color ?? known.color ?? 'ededed',
        ...((style.description ?? known.description) ? { description: style.description ?? known.description } : {}),
      });
      client.log.info(`created label "${data.name}"`);
      result.push(data.name);
    } catch (error) {
      // Another run created it in between: that is what we wanted.
      if (httpStatusOf(error) === 422 && /already_exists|already exists/i.test(JSON.stringify((error as { response?: { data?: unknown } }).response?.data ?? ''))) {
        result.push(name);
        continue;
      }
      throw new Error(`cannot create the label "${name}": ${githubErrorMessage(error)}`, { cause: error });
    }
  }
  return result;
}

/** Adds labels to an issue or pull request (labels it already has are left as they are). */
export async function addLabels(client: GitHubClient, repo: RepoRef, issueNumber: number, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  await client.octokit.rest.issues.addLabels({ ...repo, issue_number: issueNumber, labels: [...names] });
}

import type { GitHubClient, RepoRef } from './client.js';
import { githubErrorMessage } from './errors.js';

/** `octocat` → a user; `org/team` or `@org/team` → a team (by slug). */
export function splitReviewers(reviewers: readonly string[]): { users: string[]; teams: string[] } {
  const users: string[] = [];
  const teams: string[] = [];
  for (const raw of reviewers) {
    const name = raw.trim().replace(/^@/, '');
    if (!name) continue;
    if (name.includes('/')) teams.push(name.slice(name.indexOf('/') + 1));
    else users.push(name);
  }
  return { users: [...new Set(users)], teams: [...new Set(teams)] };
}

/**
 * Requests reviews. GitHub refuses the whole request when one reviewer cannot review (not a
 * collaborator, the author): then each is requested alone, and the refusals come back as warnings.
 */
export async function requestReviewers(client: GitHubClient, repo: RepoRef, pullNumber: number, reviewers: readonly string[], author?: string): Promise<string[]> {
  const { users, teams } = splitReviewers(reviewers);
  const warnings: string[] = [];
  const wanted = users.filter((u) => !author || u.toLowerCase() !== author.toLowerCase());
  if (wanted.length < users.length) warnings.push(`${author} opened the pull request and cannot review it`);
  if (wanted.length === 0 && teams.length === 0) return warnings;
  const request = (u: string[], t: string[]) => client.octokit.rest.pulls.requestReviewers({ ...repo, pull_number: pullNumber, reviewers: u, team_reviewers: t });
  try {
    await request(wanted, teams);
    return warnings;
  } catch (error) {
    if (wanted.length + teams.length === 1) {
      warnings.push(`cannot request a review from ${[...wanted, ...teams.map((t) => `team ${t}`)][0]}: ${githubErrorMessage(error)}`);
      return warnings;
    }
  }
  for (const user of wanted) {
    await request([user], []).catch((error: unknown) => warnings.push(`cannot request a review from ${user}: ${githubErrorMessage(error)}`));
  }
  for (const team of teams) {
    await request([], [team]).catch((error: unknown) => warnings.push(`cannot request a review from team ${team}: ${githubErrorMessage(error)}`));
  }
  return warnings;
}

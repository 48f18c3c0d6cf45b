import { randomBytes } from 'node:crypto';

/** A fresh, unguessable token for one `::stop-commands::` block. */
export function newStopToken(): string {
  return randomBytes(16).toString('hex');
}

/**
 * `text` between `::stop-commands::TOKEN` and `::TOKEN::`: the runner prints it without obeying
 * any workflow command in it. The token is new for every block and chosen after the text is
 * known, so the text cannot end the block itself (the runner matches it case-insensitively).
 */
export function quoteForRunner(text: string, token: () => string = newStopToken): string {
  const lower = text.toLowerCase();
  let chosen = token();
  while (lower.includes(chosen.toLowerCase())) chosen = token();
  return `::stop-commands::${chosen}\n${text}\n::${chosen}::`;
}

/**
 * Whether the runner could read some line of `text` as a workflow command: `::name::` (after
 * leading space) or the older `##[name]` anywhere in a line. Deliberately broad: any `::`.
 */
export function mayCarryWorkflowCommand(text: string): boolean {
  return text.includes('::') || text.includes('##[');
}

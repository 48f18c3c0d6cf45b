import { escapeHtml, markdownCode, markdownText } from '../util/markdown.js';

/** GitHub refuses a pull request or issue body longer than this (characters). */
export const GITHUB_BODY_LIMIT = 65_536;

/** Text (Nix's, a lock file's) shown as itself in a table cell or a paragraph. */
export const cell = markdownText;

/** An inline code span that survives backticks in `text`. */
export const code = markdownCode;

export function link(text: string, url: string | undefined): string {
  return url ? `[${text}](${url})` : text;
}

export function table(headers: string[], rows: string[][]): string[] {
  return [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

/** A fenced code block whose fence is longer than any backtick run inside. */
export function fence(text: string, lang = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`{3,}/g)].map((m) => m[0].length));
  const marks = '`'.repeat(longest + 1);
  return `${marks}${lang}\n${text.replace(/\n+$/, '')}\n${marks}`;
}

export function details(summary: string, body: string): string {
  return `<details><summary>${escapeHtml(summary)}</summary>\n\n${body}\n\n</details>`;
}

/** The last `max` characters of a log, cut at a line start, marked when cut. */
export function tail(text: string, max: number): string {
  const trimmed = text.trim();
  if (trimmed.length <= max) return trimmed;
  const cut = trimmed.slice(trimmed.length - max);
  const start = cut.indexOf('\n');
  return `…\n${start >= 0 ? cut.slice(start + 1) : cut}`;
}

/**
 * A part of a long document that may be shortened: `items` go from the end first. Items are
 * whole (a table row, a `<details>` block), so the Markdown stays valid whatever is cut.
 */
export interface Block {
  head?: string;
  items: string[];
  tail?: string;
  /** Lower is cut first; blocks of equal priority are cut from the last one. */
  priority: number;
  /** What one item is, for the note (`rows`, `hosts`). */
  noun?: string;
}

/** Joins blocks; if longer than `limit`, drops items (lowest priority first) and says what was cut. */
export function fitBlocks(blocks: readonly Block[], limit: number, cutNote: (count: number, noun: string) => string): { text: string; cut: number } {
  const state = blocks.map((b) => ({ ...b, keep: b.items.length, note: '' }));
  const render = () =>
    state
      .map((b) => {
        if (b.items.length > 0 && b.keep === 0 && !b.note) return '';
        const parts = [b.head, ...b.items.slice(0, b.keep), b.note || undefined, b.tail].filter((p): p is string => p !== undefined && p !== '');
        return parts.join('\n');
      })
      .filter(Boolean)
      .join('\n\n');
  let text = render();
  const order = state
    .map((b, index) => ({ b, index }))
    .sort((x, y) => x.b.priority - y.b.priority || y.index - x.index)
    .map((x) => x.b);
  for (const block of order) {
    if (text.length <= limit) break;
    while (block.keep > 0 && text.length > limit) {
      // Drop as many items as the overshoot needs at once, then re-check.
      let over = text.length - limit;
      let drop = 0;
      while (block.keep - drop > 0 && over > 0) {
        over -= (block.items[block.keep - drop - 1] as string).length + 1;
        drop++;
      }
      block.keep -= Math.max(1, drop);
      const dropped = block.items.length - block.keep;
      // A blank line first: a paragraph right under a table would become one of its rows.
      block.note = `\n${cutNote(dropped, block.noun ?? 'rows')}`;
      text = render();
    }
  }
  const cut = state.reduce((n, b) => n + (b.items.length - b.keep), 0);
  if (text.length > limit) {
    const note = `\n\n${cutNote(1, 'part')}`;
    text = text.slice(0, Math.max(0, limit - note.length)) + note;
  }
  return { text, cut };
}

/**
 * Text that fleet did not write (a report's `lastError`, unit names, ssh, SSM or Nix messages)
 * rendered in GitHub Markdown as what it says: never a link, an image, HTML or formatting.
 */

/** For text inside HTML (`<td>`, `<summary>`), where Markdown is not read. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Inline Markdown that renders as exactly `text`, on one line (line breaks become spaces), safe
 * in a paragraph, a list item and a table cell: HTML characters become entities, the punctuation
 * of links, images, code, emphasis, strike-through and tables is escaped, and so is a leading
 * heading, quote or list marker. A bare URL stays a link GitHub shows as the URL it goes to.
 */
export function markdownText(text: string): string {
  const oneLine = text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  const escaped = oneLine.replace(/[\\`*_[\]|~]/g, '\\$&').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return escaped
    .replace(/^(\s*)(#{1,6}|[-+])(?=\s|$)/, '$1\\$2')
    .replace(/^(\s*)([-=])(?=\2*\s*$)/, '$1\\$2')
    .replace(/^(\s*\d{1,9})([.)])(?=\s|$)/, '$1\\$2');
}

/**
 * An inline code span showing `text` literally, whatever backticks it holds. A pipe cannot be
 * written in a code span the same way in a table cell and in a paragraph, so text with one (or a
 * line break) is given as `markdownText` instead.
 */
export function markdownCode(text: string): string {
  if (!text) return '';
  if (/[|\r\n]/.test(text)) return markdownText(text);
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** A GitHub table; cells are Markdown already (built with `markdownText`, `markdownCode`). */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replace(/\s*[\r\n]+\s*/g, ' ')).join(' | ')} |`;
  return [line(headers), `|${headers.map(() => ' --- ').join('|')}|`, ...rows.map(line)].join('\n');
}

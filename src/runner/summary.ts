import * as core from '@actions/core';
import { escapeHtml } from '../util/markdown.js';

export type Cell = string | number | { data: string; header?: boolean; colspan?: string };

/** Builds the job summary; plain data in, Markdown/HTML out through @actions/core. */
export class JobSummary {
  private readonly summary = core.summary;

  heading(text: string, level: 1 | 2 | 3 = 2): this {
    this.summary.addHeading(escapeHtml(text), level);
    return this;
  }

  /** Markdown as given: text from hosts or Nix in it must come through `markdownText` (util/markdown). */
  text(markdown: string): this {
    this.summary.addRaw(markdown, true);
    return this;
  }

  /** An HTML table: plain cells are escaped, and GitHub reads no Markdown inside it. */
  table(headers: string[], rows: Cell[][]): this {
    if (rows.length === 0) return this;
    this.summary.addTable([
      headers.map((h) => ({ data: h, header: true })),
      // @actions/core writes an empty cell as an unclosed `<td>`, which shifts the rest of the row.
      ...rows.map((row) => row.map((cell) => (typeof cell === 'object' ? cell : escapeHtml(String(cell)) || '—'))),
    ]);
    return this;
  }

  details(label: string, markdown: string): this {
    this.summary.addDetails(escapeHtml(label), `\n\n${markdown}\n\n`);
    return this;
  }

  code(text: string, lang = ''): this {
    this.summary.addCodeBlock(escapeHtml(text), lang);
    return this;
  }

  async write(): Promise<void> {
    if (!process.env.GITHUB_STEP_SUMMARY) {
      // Outside a runner (the CLI): the caller prints its own report.
      this.summary.emptyBuffer();
      return;
    }
    await this.summary.write();
  }
}

export { escapeHtml };

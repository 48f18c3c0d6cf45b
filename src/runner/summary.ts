import * as core from '@actions/core';

export type Cell = string | number | { data: string; header?: boolean; colspan?: string };

/** Builds the job summary; plain data in, Markdown/HTML out through @actions/core. */
export class JobSummary {
  private readonly summary = core.summary;

  heading(text: string, level: 1 | 2 | 3 = 2): this {
    this.summary.addHeading(text, level);
    return this;
  }

  text(markdown: string): this {
    this.summary.addRaw(markdown, true);
    return this;
  }

  table(headers: string[], rows: Cell[][]): this {
    if (rows.length === 0) return this;
    this.summary.addTable([
      headers.map((h) => ({ data: h, header: true })),
      ...rows.map((row) => row.map((cell) => (typeof cell === 'object' ? cell : escapeHtml(String(cell))))),
    ]);
    return this;
  }

  details(label: string, markdown: string): this {
    this.summary.addDetails(label, `\n\n${markdown}\n\n`);
    return this;
  }

  code(text: string, lang = ''): this {
    this.summary.addCodeBlock(text, lang);
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

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

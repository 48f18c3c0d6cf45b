import { WorkflowCommandReader } from './workflow-commands.js';

/**
 * Turns what an action prints for the runner into what a terminal should show: workflow
 * commands (`::group::`, `::error::`, `::add-mask::`) into plain lines, masked values hidden.
 * Commands are read as the runner reads them, `::stop-commands::` blocks included: a line in
 * one is shown as text, never obeyed.
 */
export class WorkflowCommandPrinter {
  private readonly masks: string[] = [];
  private readonly reader = new WorkflowCommandReader();
  private pending = '';

  constructor(
    private readonly write: (text: string) => void,
    private readonly verbose = false,
  ) {}

  push(chunk: string): void {
    // A `\r` at the end may be the first half of `\r\n`: it waits for the next chunk.
    const lines = (this.pending + chunk).split(/\r\n|\n|\r(?!$)/);
    this.pending = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  flush(): void {
    if (this.pending) this.line(this.pending.replace(/\r$/, ''));
    this.pending = '';
  }

  mask(text: string): string {
    return this.masks.reduce((out, secret) => out.split(secret).join('***'), text);
  }

  private line(raw: string): void {
    const command = this.reader.read(raw);
    if (!command) return this.write(`${this.mask(raw)}\n`);
    const text = this.mask(command.data);
    switch (command.name) {
      case 'add-mask':
        if (command.data.trim()) this.masks.push(command.data);
        return;
      case 'group':
        return this.write(`── ${text}\n`);
      case 'debug':
        if (this.verbose) this.write(`debug: ${text}\n`);
        return;
      case 'error':
      case 'warning':
      case 'notice':
        return this.write(`${command.name}: ${text}\n`);
      default:
        return;
    }
  }
}

const ENTITIES: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&amp;': '&', '&quot;': '"', '&#39;': "'" };
const text = (html: string) => html.replace(/<[^>]+>/g, '').replace(/&(lt|gt|amp|quot|#39);/g, (e) => ENTITIES[e] ?? e).trim();

/** Renders the job summary (Markdown with HTML tables) as plain text with aligned columns. */
export function summaryAsText(summary: string): string {
  return summary
    .replace(/<table>([\s\S]*?)<\/table>/g, (_, body: string) => {
      const rows = [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((r) => [...(r[1] as string).matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((c) => text(c[1] as string)));
      const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), []);
      return `\n${rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n')}\n`;
    })
    .replace(/<h(\d)>([\s\S]*?)<\/h\d>/g, (_, level: string, title: string) => `\n${'#'.repeat(Number(level))} ${text(title)}\n`)
    .replace(/<summary>([\s\S]*?)<\/summary>/g, (_, title: string) => `${text(title)}:\n`)
    .replace(/<[^>]+>/g, '')
    .replace(/\\([!-/:-@[-`{-~])/g, '$1')
    .replace(/&(lt|gt|amp|quot|#39);/g, (e) => ENTITIES[e] ?? e)
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/**
 * Turns what an action prints for the runner into what a terminal should show: workflow
 * commands (`::group::`, `::error::`, `::add-mask::`) into plain lines, masked values hidden.
 */
export class WorkflowCommandPrinter {
  private readonly masks: string[] = [];
  private pending = '';

  constructor(
    private readonly write: (text: string) => void,
    private readonly verbose = false,
  ) {}

  push(chunk: string): void {
    const lines = (this.pending + chunk).split('\n');
    this.pending = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  flush(): void {
    if (this.pending) this.line(this.pending);
    this.pending = '';
  }

  mask(text: string): string {
    return this.masks.reduce((out, secret) => out.split(secret).join('***'), text);
  }

  private line(raw: string): void {
    const command = /^::([a-z-]+)(?: [^:]*)?::(.*)$/.exec(raw);
    if (!command) return this.write(`${this.mask(raw)}\n`);
    const [, name, value] = command as unknown as [string, string, string];
    const text = this.mask(value.replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%'));
    switch (name) {
      case 'add-mask':
        if (value) this.masks.push(value);
        return;
      case 'group':
        return this.write(`── ${text}\n`);
      case 'endgroup':
        return;
      case 'debug':
        if (this.verbose) this.write(`debug: ${text}\n`);
        return;
      case 'error':
      case 'warning':
      case 'notice':
        return this.write(`${name}: ${text}\n`);
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
    .replace(/&(lt|gt|amp|quot|#39);/g, (e) => ENTITIES[e] ?? e)
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

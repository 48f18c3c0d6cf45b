import { escapeHtml, markdownCode, markdownTable, markdownText } from '../../../src/util/markdown.js';

const HOSTILE = [
  '![x](https://evil/x.png) [click](https://evil)',
  '<img src=x onerror=alert(1)> & <b>bold</b>',
  'unit a|b.service | c',
  '**loud** _quiet_ ~~gone~~ `code` \\[escaped\\]',
  '# heading',
  '- item',
  '> quote',
  '1. first',
  '---',
  'line one\nline two\r\n\nline three',
];

/** What GitHub shows for `markdown` made only of text, escapes and entities. */
const rendered = (markdown: string) =>
  markdown
    .replace(/\\([!-/:-@[-`{-~])/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** Punctuation that would start a link, image, code span, emphasis, HTML or a cell, not escaped. */
const ACTIVE = /(^|[^\\])(\\\\)*[[\]`*_|~<>]/;

describe('markdownText', () => {
  it.each(HOSTILE)('renders %j as its text, on one line, with nothing active', (text) => {
    const markdown = markdownText(text);
    expect(markdown).not.toMatch(/[\r\n]/);
    expect(markdown).not.toMatch(ACTIVE);
    expect(rendered(markdown)).toBe(text.replace(/\s*[\r\n]+\s*/g, ' '));
  });

  it('escapes the markers that would start a block only at the start', () => {
    expect(markdownText('# heading')).toBe('\\# heading');
    expect(markdownText('#4: issue')).toBe('#4: issue');
    expect(markdownText('- item')).toBe('\\- item');
    expect(markdownText('---')).toBe('\\---');
    expect(markdownText('1. first')).toBe('1\\. first');
    expect(markdownText('host-a failed: exit 1. retry')).toBe('host-a failed: exit 1. retry');
  });

  it('keeps a table row whole', () => {
    const table = markdownTable(['Host', 'Message'], [[markdownText('web1'), markdownText('a|b\nc')]]);
    expect(table.split('\n')).toEqual(['| Host | Message |', '| --- | --- |', '| web1 | a\\|b c |']);
  });
});

describe('markdownCode', () => {
  it('shows backticks literally', () => {
    expect(markdownCode('x')).toBe('`x`');
    expect(markdownCode('a`b')).toBe('``a`b``');
    expect(markdownCode('`x')).toBe('`` `x ``');
    expect(markdownCode('')).toBe('');
  });

  it('falls back to escaped text when a pipe or line break could not stay in a code span', () => {
    expect(markdownCode('/nix/store/x|y')).toBe('/nix/store/x\\|y');
    expect(markdownCode('a\n![i](u)')).toBe('a !\\[i\\](u)');
  });
});

describe('escapeHtml', () => {
  it('leaves no tag in HTML text', () => {
    expect(escapeHtml('<img src=x> & co')).toBe('&lt;img src=x&gt; &amp; co');
  });
});

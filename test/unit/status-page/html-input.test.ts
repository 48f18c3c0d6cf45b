import { readWaveInputs } from '../../../action-upgrade-wave/src/inputs.js';

const reader = (values: Record<string, string>) => (name: string) => values[name] ?? '';
const html = (value: string) => readWaveInputs(reader({ html: value })).html;

describe('action-upgrade-wave input html', () => {
  it('is a file path inside the workspace, normalised', () => {
    expect(html('')).toBeUndefined();
    expect(html('fleet-status.html')).toBe('fleet-status.html');
    expect(html('./reports//a/../status.html')).toBe('reports/status.html');
  });

  it.each([
    ['a\0b.html', 'Input "html": has a NUL character. Example: html: fleet-status.html'],
    ['-o.html', 'Input "html": "-o.html" starts with "-"'],
    ['/etc/passwd', 'Input "html": "/etc/passwd" is absolute; give a path relative to the workspace'],
    ['../status.html', 'Input "html": "../status.html" leads outside the workspace'],
    ['reports/../../status.html', 'leads outside the workspace'],
    ['.', 'names a folder, not a file'],
    ['reports/', 'names a folder, not a file'],
  ])('refuses %j', (value, message) => {
    expect(() => html(value)).toThrow(message);
  });
});

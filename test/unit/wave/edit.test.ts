import { readFile } from 'node:fs/promises';
import { setWaveChannel } from '../../../src/fleet/edit.js';
import { parseInventoryText } from '../../../src/fleet/inventory.js';

/** The lines that differ between two texts of the same line count. */
function changedLines(before: string, after: string): { before: string; after: string }[] {
  const a = before.split('\n');
  const b = after.split('\n');
  expect(b.length).toBe(a.length);
  return a.flatMap((line, i) => (line === b[i] ? [] : [{ before: line, after: b[i] as string }]));
}

describe('setWaveChannel', () => {
  it('changes only the channel of one wave in the example inventory', async () => {
    const text = await readFile(new URL('../../../examples/offline-fleet/fleet.yaml', import.meta.url), 'utf8');
    const edited = setWaveChannel(text, 'middle', 'nixos-25.05');
    expect(edited).toMatchObject({ changed: true, previous: 'nixos-24.11' });
    expect(changedLines(text, edited.text)).toEqual([
      { before: '  middle: { order: 2, soak: 24h, quorum: 80%, channel: nixos-24.11 }', after: '  middle: { order: 2, soak: 24h, quorum: 80%, channel: nixos-25.05 }' },
    ]);
    const inventory = parseInventoryText(edited.text, 'fleet.yaml');
    expect(inventory.waves.middle?.channel).toBe('nixos-25.05');
    expect(inventory.waves.first?.channel).toBe('nixos-24.11');
  });

  it('keeps comments, quoting and block style', () => {
    const text = [
      '# fleet',
      'waves:',
      '  first:',
      '    order: 1   # canaries',
      "    channel: 'nixos-25.05'",
      '  final:',
      '    order: 2',
      '    channel: "nixos-24.11"  # old one',
      '    soak: 2d',
      'hosts: {}',
      '',
    ].join('\n');
    const edited = setWaveChannel(text, 'final', 'nixos-25.05');
    expect(changedLines(text, edited.text)).toEqual([{ before: '    channel: "nixos-24.11"  # old one', after: '    channel: "nixos-25.05"  # old one' }]);
    const single = setWaveChannel(text, 'first', "it's");
    expect(changedLines(text, single.text)).toEqual([{ before: "    channel: 'nixos-25.05'", after: "    channel: 'it''s'" }]);
  });

  it('quotes a value that YAML would read as something else', () => {
    const text = 'waves:\n  first: { order: 1, channel: old }\n';
    expect(setWaveChannel(text, 'first', '24.11').text).toBe('waves:\n  first: { order: 1, channel: "24.11" }\n');
    expect(setWaveChannel(text, 'first', 'a: b').text).toBe('waves:\n  first: { order: 1, channel: "a: b" }\n');
  });

  it('adds the key to a wave without a channel', () => {
    const flow = 'waves:\n  first: { order: 1, soak: 1h } # c\n  final: {}\n';
    expect(setWaveChannel(flow, 'first', 'nixos-25.05').text).toBe('waves:\n  first: { order: 1, soak: 1h, channel: nixos-25.05 } # c\n  final: {}\n');
    expect(setWaveChannel(flow, 'final', 'nixos-25.05').text).toBe('waves:\n  first: { order: 1, soak: 1h } # c\n  final: { channel: nixos-25.05 }\n');
    const block = 'waves:\n  first:\n    order: 1\n    soak: 1h  # one hour\nhosts: {}\n';
    expect(setWaveChannel(block, 'first', 'nixos-25.05').text).toBe('waves:\n  first:\n    order: 1\n    soak: 1h  # one hour\n    channel: nixos-25.05\nhosts: {}\n');
  });

  it('edits JSON inventories with JSON quoting', () => {
    const text = '{\n  "waves": {\n    "first": { "order": 1, "channel": "old" },\n    "final": { "order": 2 }\n  }\n}\n';
    const changed = setWaveChannel(text, 'first', 'new', { json: true }).text;
    expect(JSON.parse(changed).waves.first.channel).toBe('new');
    expect(changed).toBe(text.replace('"channel": "old"', '"channel": "new"'));
    const added = setWaveChannel(text, 'final', 'new', { json: true }).text;
    expect(added).toBe(text.replace('"order": 2 }', '"order": 2, "channel": "new" }'));
  });

  it('leaves the text alone when the channel is already set', () => {
    const text = 'waves:\n  first: { order: 1, channel: x }\n';
    expect(setWaveChannel(text, 'first', 'x')).toEqual({ text, previous: 'x', changed: false });
  });

  it('refuses unknown waves and odd documents', () => {
    expect(() => setWaveChannel('waves:\n  first: { order: 1 }\n', 'frist', 'x', { source: 'fleet.yaml' })).toThrow('fleet.yaml: waves.frist does not exist; known: first');
    expect(() => setWaveChannel('hosts: {}\n', 'first', 'x')).toThrow(/waves does not exist/);
    expect(() => setWaveChannel('waves:\n  first: { order: 1, channel: [a] }\n', 'first', 'x')).toThrow(/not a plain value/);
    expect(() => setWaveChannel('waves: [\n', 'first', 'x')).toThrow(/cannot be edited/);
  });
});

import { Readable } from 'node:stream';
import { zstdDecompressSync } from 'node:zlib';
import { compressBuffer, createCompressor, createDecompressor, narFileExtension, narInfoCompression, parseCompression } from '../../../src/cache/compress.js';

async function through(stream: NodeJS.ReadWriteStream, input: Buffer): Promise<Buffer> {
  const parts: Buffer[] = [];
  const piped = Readable.from([input.subarray(0, 1000), input.subarray(1000)]).pipe(stream as unknown as NodeJS.WritableStream) as unknown as Readable;
  for await (const chunk of piped) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

const sample = Buffer.from('nix-archive-1 '.repeat(5000));

describe('parseCompression', () => {
  it('reads a method with an optional level', () => {
    expect(parseCompression('zstd')).toEqual({ method: 'zstd' });
    expect(parseCompression(' XZ:9 ')).toEqual({ method: 'xz', level: 9 });
    expect(parseCompression('none')).toEqual({ method: 'none' });
  });

  it.each([
    ['gzip', /not a compression \(one of zstd, xz, none/],
    ['zstd:20', /zstd levels go from 1 to 19/],
    ['xz:-1', /not a compression/],
    ['none:3', /none takes no level/],
    ['', /not a compression/],
  ])('refuses %j', (text, message) => {
    expect(() => parseCompression(text)).toThrow(message);
  });
});

describe('names', () => {
  it('maps methods to NAR file extensions and narinfo Compression values', () => {
    expect(['zstd', 'xz', 'none'].map((m) => narFileExtension(m as 'zstd'))).toEqual(['.nar.zst', '.nar.xz', '.nar']);
    expect(['zstd', 'xz', 'none'].map((m) => narInfoCompression(m as 'zstd'))).toEqual(['zstd', 'xz', 'none']);
  });
});

describe('zstd and none', () => {
  it('streams zstd that decompresses to the input, at the given level, with or without a pledged size', async () => {
    for (const compressor of [createCompressor({ method: 'zstd' }), createCompressor({ method: 'zstd', level: 19 }, sample.length)]) {
      const out = await through(compressor, sample);
      expect(out.length).toBeLessThan(sample.length / 10);
      expect(zstdDecompressSync(out).equals(sample)).toBe(true);
    }
  });

  it('fails when the input does not match the pledged size', async () => {
    await expect(through(createCompressor({ method: 'zstd' }, sample.length + 1), sample)).rejects.toThrow();
  });

  it('compresses a buffer in one call', async () => {
    const out = await compressBuffer({ method: 'zstd', level: 3 }, sample);
    expect(zstdDecompressSync(out).equals(sample)).toBe(true);
    expect(await compressBuffer({ method: 'none' }, sample)).toBe(sample);
  });

  it('passes data through unchanged for none', async () => {
    expect((await through(createCompressor({ method: 'none' }), sample)).equals(sample)).toBe(true);
  });

  it('decompresses what it compressed, and refuses unknown methods', async () => {
    const zst = await compressBuffer({ method: 'zstd' }, sample);
    expect((await through(createDecompressor('zstd'), zst)).equals(sample)).toBe(true);
    expect(() => createDecompressor('lz4')).toThrow(/cannot decompress "lz4"/);
  });
});

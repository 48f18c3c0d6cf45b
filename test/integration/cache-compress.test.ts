import { randomBytes } from 'node:crypto';
import { Readable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { compressBuffer, createCompressor, createDecompressor, ProcessTransform } from '../../src/cache/compress.js';

async function through(stream: Duplex, input: Buffer): Promise<Buffer> {
  const parts: Buffer[] = [];
  await pipeline(Readable.from([input.subarray(0, 4096), input.subarray(4096)]), stream, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) parts.push(chunk);
  });
  return Buffer.concat(parts);
}

// Half text, half noise: compressible, but not trivially.
const sample = Buffer.concat([Buffer.from('store path contents '.repeat(50_000)), randomBytes(1024 * 1024)]);

describe('xz through the xz program', () => {
  it('streams output the xz tool decompresses back to the input', async () => {
    const xz = await through(createCompressor({ method: 'xz', level: 1 }), sample);
    expect(xz.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))).toBe(true);
    expect(xz.length).toBeLessThan(sample.length);
    expect((await through(createDecompressor('xz'), xz)).equals(sample)).toBe(true);
  });

  it('compresses a buffer in one call', async () => {
    const xz = await compressBuffer({ method: 'xz' }, sample.subarray(0, 10_000));
    expect((await through(createDecompressor('xz'), xz)).equals(sample.subarray(0, 10_000))).toBe(true);
  });

  it('reports the program failing, with what it said', async () => {
    await expect(through(createDecompressor('xz'), Buffer.from('this is not xz data'))).rejects.toThrow(/xz exited with code 1: .*File format not recognized/);
  });

  it('reports a program that cannot be started', async () => {
    await expect(through(new ProcessTransform('/nonexistent/compressor', []), Buffer.from('x'))).rejects.toThrow(/could not run \/nonexistent\/compressor/);
  });

  it('kills the program when the stream is destroyed midway', async () => {
    const compressor = new ProcessTransform('xz', ['-c']);
    compressor.on('error', () => {});
    compressor.write(sample.subarray(0, 1000));
    compressor.destroy();
    await compressor.exited;
  });
});

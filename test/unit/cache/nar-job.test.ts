import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zstdDecompressSync } from 'node:zlib';
import { answerNarJob, type NarJobMessage } from '../../../src/cache/nar-job.js';
import { narSync } from '../../../src/cache/nar-sync.js';

// What a NAR worker thread answers, run here on the main thread.
const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

let dir: string;
let job: NarJobMessage;
let nar: Buffer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-nar-job-'));
  await writeFile(join(dir, 'f'), 'a small file');
  nar = narSync(join(dir, 'f'));
  job = { id: 7, path: join(dir, 'f'), hash: sha256(nar), size: nar.length, method: 'zstd', level: 3 };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('answerNarJob', () => {
  it('answers with the compressed file and its hash', () => {
    const answer = answerNarJob(job);
    if (!answer.ok) throw new Error(`not ok: ${JSON.stringify(answer)}`);
    expect(answer.id).toBe(7);
    expect(zstdDecompressSync(answer.file).equals(nar)).toBe(true);
    expect(Buffer.from(answer.fileHash).equals(sha256(answer.file))).toBe(true);
    expect(answerNarJob({ ...job, method: 'none' })).toMatchObject({ ok: true, file: nar });
  });

  it('answers with what differs from what Nix recorded', () => {
    expect(answerNarJob({ ...job, size: nar.length - 8 })).toEqual({ id: 7, ok: false, kind: 'size', actualSize: expect.any(Number), atLeast: true });
    expect(answerNarJob({ ...job, size: nar.length + 8 })).toEqual({ id: 7, ok: false, kind: 'size', actualSize: nar.length, atLeast: false });
    expect(answerNarJob({ ...job, hash: Buffer.alloc(32) })).toEqual({ id: 7, ok: false, kind: 'hash', actualHash: sha256(nar) });
  });

  it('answers with the message and code of a failure to read', () => {
    expect(answerNarJob({ ...job, path: join(dir, 'missing') })).toEqual({ id: 7, ok: false, kind: 'error', message: expect.stringContaining('ENOENT'), code: 'ENOENT' });
  });
});

import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { NixCommandError, NixNotFoundError } from '../../src/nix/errors.js';
import { readLock } from '../../src/nix/flake-lock.js';
import { nix32Encode, parseHash } from '../../src/nix/hash.js';
import { detectNixVersion, Nix } from '../../src/nix/nix.js';
import { nixAtLeast } from '../../src/nix/version.js';
import { exec, spawnProcess } from '../../src/util/exec.js';
import { memoryLog } from '../../src/util/log.js';
import { cleanupFreshStores, freshStore, offlineNix, offlineNixEnv, runNix, shDerivation, writeFlake } from '../support/nix.js';
import { builderFailed, SIGNATURE_REFUSED } from '../support/nix-messages.js';

// Every run builds fresh derivations: the nonce changes their hashes.
const nonce = randomBytes(6).toString('hex');
/** A Nix interpolation of another attribute, `${name}`. */
const ref = (name: string) => '$' + `{${name}}`;

const FLAKE = `{
  outputs = { self }: rec {
    packages.x86_64-linux = rec {
      dep = ${shDerivation('dep-1.0', 'echo dep > $out', `nonce = "${nonce}";`)};
      a = ${shDerivation('a-1.0', 'mkdir -p $out/bin; echo "#!/bin/sh" > $out/bin/a; chmod +x $out/bin/a; ln -s bin/a $out/link', `nonce = "${nonce}";`)};
      b = ${shDerivation('b-2.0', `mkdir $out; echo ${ref('dep')} > $out/b; head -c 100000 /dev/zero > $out/zeros`, `nonce = "${nonce}";`)};
      bad = ${shDerivation('bad-0.1', 'echo failing now >&2; exit 3', `nonce = "${nonce}";`)};
      needs-bad = ${shDerivation('needs-bad-1', `echo ${ref('bad')} ${ref('a')}; mkdir $out`, `nonce = "${nonce}";`)};
      broken = throw "boom: broken does not evaluate";
    };
    numbers = { one = 1; two = 2; };
  };
}
`;

const collect = async (stream: Readable): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

const nixStoreDump = (path: string): Promise<Buffer> => collect(spawnProcess('nix-store', ['--dump', path], { env: offlineNixEnv() }).stdout);

describe('Nix against the installed Nix', () => {
  let flake: Awaited<ReturnType<typeof writeFlake>>;
  const log = memoryLog();
  const nix = offlineNix({ log });
  const pkg = (name: string) => `${flake.ref}#packages.x86_64-linux.${name}`;

  beforeAll(async () => {
    flake = await writeFlake({ 'flake.nix': FLAKE });
  });
  afterAll(async () => {
    await flake.cleanup();
    await cleanupFreshStores();
  });

  it('detects the version', async () => {
    const v = await detectNixVersion({ env: offlineNixEnv() });
    expect(v.flavor).toBe('nix');
    expect(v.major).toBe(2);
    expect(v.minor).toBeGreaterThanOrEqual(8);
    expect(await nix.version()).toEqual(v);
  });

  it('evaluates JSON and attribute names', async () => {
    expect(await nix.evalAttrNames(flake.ref, 'packages.x86_64-linux')).toEqual(['a', 'b', 'bad', 'broken', 'dep', 'needs-bad']);
    expect(await nix.eval<Record<string, number>>(`${flake.ref}#numbers`)).toEqual({ one: 1, two: 2 });
    expect(await nix.eval<number>(`${flake.ref}#numbers`, { apply: 'n: n.one + n.two' })).toBe(3);
    expect(await nix.evalRaw(`${flake.ref}#packages.x86_64-linux.a.name`)).toBe('a-1.0');
  });

  it('reports evaluation errors with Nix own message', async () => {
    const error = await nix.eval(pkg('broken')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NixCommandError);
    expect((error as Error).message).toMatch(/boom: broken does not evaluate/);
    await expect(nix.eval(`${flake.ref}#nope`)).rejects.toThrow(/does not provide attribute[\s\S]*nix flake show/);
  });

  it('builds several installables in one go, each mapped to its own outputs', async () => {
    const outcomes = await nix.build([pkg('b'), pkg('a'), pkg('b')]);
    expect(outcomes.map((o) => [o.installable, o.ok])).toEqual([
      [pkg('b'), true],
      [pkg('a'), true],
      [pkg('b'), true],
    ]);
    const [b, a] = outcomes;
    if (!b?.ok || !a?.ok) throw new Error('unreachable');
    expect(b.outputs.out).toMatch(/-b-2\.0$/);
    expect(b.drvPath).toMatch(/-b-2\.0\.drv$/);
    expect(a.outputs.out).toMatch(/-a-1\.0$/);
    expect((await nix.validPaths([a.outputs.out as string, b.outputs.out as string])).size).toBe(2);
  });

  it('builds plain store paths and derivation outputs given as installables', async () => {
    const [a] = await nix.build([pkg('a')]);
    if (!a?.ok || !a.drvPath) throw new Error('a did not build');
    const out = a.outputs.out as string;
    // Current Nix prints a bare path string for a store-path installable; Nix 2.8 printed { path }.
    expect(await nix.build([out])).toEqual([{ installable: out, ok: true, outputs: { out } }]);
    if (nixAtLeast(await nix.version(), 2, 13)) {
      expect(await nix.build([`${a.drvPath}^out`])).toEqual([{ installable: `${a.drvPath}^out`, ok: true, drvPath: a.drvPath, outputs: { out } }]);
    }
  });

  it('reports every installable when some fail to build or evaluate', async () => {
    const outcomes = await nix.build([pkg('a'), pkg('bad'), pkg('needs-bad'), pkg('broken'), pkg('dep')]);
    const [a, bad, needsBad, broken, dep] = outcomes;
    expect(outcomes).toHaveLength(5);
    expect(a).toMatchObject({ installable: pkg('a'), ok: true });
    expect(dep).toMatchObject({ installable: pkg('dep'), ok: true });
    expect(bad).toMatchObject({ installable: pkg('bad'), ok: false, stage: 'build' });
    expect(needsBad).toMatchObject({ installable: pkg('needs-bad'), ok: false, stage: 'build' });
    expect(broken).toMatchObject({ installable: pkg('broken'), ok: false, stage: 'eval' });
    if (bad?.ok !== false || needsBad?.ok !== false || broken?.ok !== false) throw new Error('unreachable');
    expect(bad.error).toMatch(builderFailed('bad-0.1', 3));
    expect(bad.error).toContain('failing now');
    expect(bad.failedDrvs).toEqual([bad.drvPath]);
    // Nix 2.8 prints nothing about needs-bad itself: its error is its dependency's.
    expect(needsBad.error).toMatch(/failing now/);
    expect(needsBad.failedDrvs).toEqual([bad.drvPath]);
    expect(broken.error).toMatch(/boom: broken does not evaluate/);
    expect(await nix.logOf(bad.drvPath as string)).toMatch(/failing now/);
    // The build progress went to the log.
    expect(log.lines.some((l) => /building '.*-bad-0\.1\.drv'/.test(l))).toBe(true);
  });

  it('reports an installable that cannot build at all without throwing', async () => {
    const outcomes = await nix.build([pkg('bad')], { keepGoing: false });
    expect(outcomes).toEqual([expect.objectContaining({ ok: false, stage: 'build', error: expect.stringMatching(/failing now/) })]);
    expect(await nix.build([])).toEqual([]);
  });

  it('reads path-info recursively, normalized', async () => {
    const [b] = await nix.build([pkg('b')]);
    if (!b?.ok) throw new Error('b did not build');
    const out = b.outputs.out as string;
    const infos = await nix.pathInfo([out], { recursive: true, closureSize: true });
    expect(infos).toHaveLength(2);
    expect(infos.map((i) => i.path)).toEqual(expect.arrayContaining([out, expect.stringMatching(/-dep-1\.0$/)]));
    const info = infos.find((i) => i.path === out);
    expect(info?.narHash).toMatch(/^sha256:[0-9a-df-np-sv-z]{52}$/);
    expect(info?.references).toEqual([expect.stringMatching(/^\/nix\/store\/[0-9a-z]{32}-dep-1\.0$/)]);
    expect(info?.deriver).toBe(b.drvPath);
    expect(info?.narSize).toBeGreaterThan(100000);
    expect(info?.closureSize).toBe(infos.reduce((sum, i) => sum + i.narSize, 0));
    expect(await nix.closureSize([out])).toBe(info?.closureSize);

    const [drvInfo] = await nix.pathInfo([b.drvPath as string]);
    expect(drvInfo?.path).toBe(b.drvPath);
    expect(drvInfo?.ca).toMatch(/^text:sha256:/);
  });

  it('refuses paths that are not in the store, unless told to skip them', async () => {
    const missing = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-missing';
    const [dep] = await nix.build([pkg('dep')]);
    const depOut = (dep?.ok && dep.outputs.out) as string;
    await expect(nix.pathInfo([depOut, missing])).rejects.toThrow(/not in the store: \/nix\/store\/a{32}-missing/);
    expect((await nix.pathInfo([depOut, missing], { allowInvalid: true })).map((i) => i.path)).toEqual([depOut]);
    expect((await nix.pathInfo([depOut, missing], { allowInvalid: true, recursive: true })).map((i) => i.path)).toEqual([depOut]);
  });

  it('dumps the NAR nix-store --dump writes, whose hash is the narHash', async () => {
    const [a, b] = await nix.build([pkg('a'), pkg('b')]);
    for (const outcome of [a, b]) {
      if (!outcome?.ok) throw new Error('did not build');
      const path = outcome.outputs.out as string;
      const ours = await collect(nix.dump(path));
      expect(ours.equals(await nixStoreDump(path))).toBe(true);
      const [info] = await nix.pathInfo([path]);
      expect(`sha256:${nix32Encode(createHash('sha256').update(ours).digest())}`).toBe(info?.narHash);
      expect(ours.length).toBe(info?.narSize);
    }
  });

  it('fails the dump stream when the path is missing', async () => {
    await expect(collect(nix.dump('/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-missing'))).rejects.toThrow(NixCommandError);
  });

  it('stops nix-store when the reader gives up', async () => {
    const [b] = await nix.build([pkg('b')]);
    const stream = nix.dump((b?.ok && b.outputs.out) as string);
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    stream.destroy();
    await new Promise((resolve) => stream.once('close', resolve));
    expect(stream.destroyed).toBe(true);
  });

  it('says how to install Nix when it is missing', async () => {
    const error = await detectNixVersion({ nixBin: '/nonexistent/bin/nix' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NixNotFoundError);
    expect((error as Error).message).toMatch(/install Nix \(apt-get install nix-bin, or uses: cachix\/install-nix-action/);
    await expect(collect(new Nix({ nixStoreBin: '/nonexistent/nix-store' }).dump('/nix/store/x'))).rejects.toThrow(NixNotFoundError);
  });

  it('locks flakes, reads the lock and the metadata', async () => {
    const input = await writeFlake({ 'flake.nix': '{ outputs = { self }: { value = 42; }; }' });
    const root = await writeFlake({
      'flake.nix': `{
        inputs.dep.url = "path:${input.dir}";
        inputs.other.url = "path:${input.dir}";
        outputs = { self, dep, other }: { value = dep.value; };
      }`,
    });
    try {
      await nix.updateLock(root.ref);
      const lock = await readLock(root.dir);
      expect(lock.version).toBe(7);
      expect(lock.nodes[lock.root]?.inputs).toEqual({ dep: 'dep', other: 'other' });
      expect(lock.nodes.dep?.locked).toMatchObject({ type: 'path', path: input.dir, narHash: expect.stringMatching(/^sha256-/) });

      await nix.updateLock(root.ref, ['dep']);
      const meta = await nix.flakeMetadata(root.ref);
      expect(meta.path).toMatch(/^\/nix\/store\/[0-9a-z]{32}-source$/);
      expect(meta.locks.nodes.dep?.locked?.narHash).toBe(lock.nodes.dep?.locked?.narHash);
      expect(await nix.eval<number>(`${root.ref}#value`)).toBe(42);
    } finally {
      await input.cleanup();
      await root.cleanup();
    }
  });
});

describe('hash conversions agree with Nix', () => {
  it('nix32 matches nix hash to-base32 and nix-hash --to-base32', async () => {
    const digests = Array.from({ length: 8 }, () => randomBytes(32));
    const viaNix = await runNix(['hash', 'to-base32', '--type', 'sha256', ...digests.map((d) => d.toString('hex'))]);
    expect(viaNix.code).toBe(0);
    expect(viaNix.stdout.trim().split('\n')).toEqual(digests.map((d) => nix32Encode(d)));
    const sri = await runNix(['hash', 'to-sri', ...digests.map((d) => `sha256:${nix32Encode(d)}`)]);
    expect(sri.stdout.trim().split('\n')).toEqual(digests.map((d) => `sha256-${d.toString('base64')}`));
    for (const size of [16, 20, 64]) {
      const digest = randomBytes(size);
      const type = { 16: 'md5', 20: 'sha1', 64: 'sha512' }[size] as string;
      const legacy = await runNix(['hash', 'to-base32', '--type', type, digest.toString('hex')]);
      expect(legacy.stdout.trim()).toBe(nix32Encode(digest));
      expect(parseHash(`${type}:${legacy.stdout.trim()}`).digest.equals(digest)).toBe(true);
    }
  });

  it('parses what nix-hash prints for a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleet-hash-'));
    try {
      await writeFile(join(dir, 'f'), 'hello fleet\n');
      const out = (await exec('nix-hash', ['--type', 'sha256', '--flat', '--base32', join(dir, 'f')])).stdout.trim();
      expect(parseHash(out, 'sha256').digest.equals(createHash('sha256').update('hello fleet\n').digest())).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('freshStore reads a signed cache back', () => {
  let flake: Awaited<ReturnType<typeof writeFlake>>;
  let cacheDir: string;
  const nix = offlineNix();

  beforeAll(async () => {
    flake = await writeFlake({ 'flake.nix': `{ outputs = { self }: { p = ${shDerivation('cached-1.0', 'echo cached > $out', `nonce = "${nonce}";`)}; }; }` });
    cacheDir = await mkdtemp(join(tmpdir(), 'fleet-cache-'));
  });
  afterAll(async () => {
    await flake.cleanup();
    await rm(cacheDir, { recursive: true, force: true });
    await cleanupFreshStores();
  });

  it('accepts the right key and refuses a wrong one', async () => {
    const [p] = await nix.build([`${flake.ref}#p`]);
    const path = (p?.ok && p.outputs.out) as string;
    const secret = (await runNix(['key', 'generate-secret', '--key-name', 'test-cache-1'])).stdout.trim();
    const pub = (await runNix(['key', 'convert-secret-to-public'], { input: secret })).stdout.trim();
    const other = (await runNix(['key', 'convert-secret-to-public'], { input: (await runNix(['key', 'generate-secret', '--key-name', 'test-cache-1'])).stdout.trim() })).stdout.trim();
    const keyFile = join(cacheDir, 'key.sec');
    await writeFile(keyFile, secret);
    const push = await runNix(['copy', '--to', `file://${cacheDir}/cache?secret-key=${keyFile}`, path]);
    expect(push.code).toBe(0);

    const refused = await freshStore();
    const no = await refused.copyFrom(`file://${cacheDir}/cache`, [path], { trustedPublicKeys: other });
    expect(no.code).not.toBe(0);
    expect(no.stderr).toMatch(SIGNATURE_REFUSED);
    expect(await refused.has(path)).toBe(false);

    const store = await freshStore();
    const yes = await store.copyFrom(`file://${cacheDir}/cache`, [path], { trustedPublicKeys: [pub] });
    expect(yes.stderr).not.toMatch(/error/);
    expect(yes.code).toBe(0);
    expect(await store.has(path)).toBe(true);
    expect(await readFile(store.realPath(path), 'utf8')).toBe('cached\n');
    const [info] = await store.nix.pathInfo([path]);
    expect(info?.signatures).toEqual([expect.stringMatching(/^test-cache-1:/)]);
    await store.cleanup();
  });

  it('copies closures between stores with Nix.copy', async () => {
    const [p] = await nix.build([`${flake.ref}#p`]);
    const path = (p?.ok && p.outputs.out) as string;
    const store = await freshStore();
    await expect(nix.copy([path], { to: store.dir })).rejects.toThrow(SIGNATURE_REFUSED);
    await nix.copy([path], { to: store.dir, noCheckSigs: true });
    expect(await store.has(path)).toBe(true);
    await store.cleanup();
  });
});

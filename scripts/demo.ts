/**
 * The README's first command: the main job on embedded defaults. It starts a local S3-compatible
 * cache, builds a new commit of the example fleet with real Nix through the committed
 * action-build bundle, pushes it signed, deploys it with the action-deploy bundle to three
 * simulated hosts that substitute from that cache (or, without root, sets local profiles),
 * prints the summaries the actions write, and stops what it started.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { inputEnvironment, makeStepDir, readActionManifest, runActionSteps } from '../src/local-runner/action-process.js';
import { summaryAsText, WorkflowCommandPrinter } from '../src/local-runner/terminal.js';
import { exec } from '../src/util/exec.js';
import { buildExampleFleet, copyExampleFleet } from '../test/support/example-fleet.js';
import { startHosts, type SimulatedFleet } from '../test/support/hosts/index.js';
import { nixKeyPair } from '../test/support/keys.js';
import { offlineNixEnv } from '../test/support/nix.js';
import { startS3rver } from '../test/support/servers/index.js';

const ROOT = join(import.meta.dirname, '..');
const HOSTS = ['web1', 'web2', 'db1'];
const say = (text: string) => process.stderr.write(`\n\x1b[1m▶ ${text}\x1b[0m\n`);

async function runBundle(action: string, inputs: Record<string, string>, env: Record<string, string>): Promise<Record<string, string>> {
  const actionDir = join(ROOT, action);
  const manifest = await readActionManifest(actionDir);
  const workDir = await makeStepDir();
  const printer = new WorkflowCommandPrinter((text) => process.stderr.write(`  ${text}`));
  try {
    const run = await runActionSteps(actionDir, manifest, { ...(process.env as Record<string, string>), ...env, ...inputEnvironment(manifest, inputs) }, {
      cwd: ROOT,
      workDir,
      onStdout: (chunk) => printer.push(chunk),
      onStderr: (chunk) => process.stderr.write(printer.mask(chunk)),
    });
    printer.flush();
    process.stdout.write(`\n${printer.mask(summaryAsText(run.summary))}\n`);
    if (run.exitCode !== 0) throw new Error(`${action} failed (exit ${run.exitCode})`);
    return run.outputs;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

const s3 = await startS3rver({ bucket: 'fleet-demo' });
const work = await mkdtemp(join(tmpdir(), 'fleet-demo-'));
let fleet: SimulatedFleet | undefined;
try {
  const keys = nixKeyPair('fleet-demo-1');
  const env = { ...(offlineNixEnv() as Record<string, string>), GITHUB_REF: 'refs/heads/main', GITHUB_REPOSITORY: 'local/fleet', GITHUB_WORKSPACE: ROOT };
  say(`Local S3 cache at ${s3.endpoint} (bucket ${s3.bucket}); a signing key held in memory`);

  const flake = await copyExampleFleet(`demo-${Date.now()}`);
  say('action-build: building web1, web2 and db1 of the example fleet (a new commit) and pushing them');
  const built = await runBundle(
    'action-build',
    { flake: `path:${flake}`, inventory: join(flake, 'fleet.yaml'), hosts: HOSTS.join(','), cache: s3.cacheUrl, 'signing-key': keys.secret },
    { ...env, AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey },
  );
  const storePaths = JSON.parse(built['store-paths'] as string) as Record<string, string>;

  if (process.getuid?.() !== 0) {
    say('Not root: no simulated hosts. Setting a local system profile per host instead');
    for (const [host, path] of Object.entries(storePaths)) {
      await exec('nix-env', ['-p', join(work, 'profiles', host), '--set', path], { env });
      process.stdout.write(`  ${host}: ${join(work, 'profiles', host)} -> ${path}\n`);
    }
  } else {
    say('Starting three simulated hosts (own sshd, /nix and /run each), running the previous commit');
    const previous = await buildExampleFleet({ variant: '1', hosts: HOSTS });
    fleet = await startHosts(HOSTS.length, { names: (i) => HOSTS[i] as string, system: (i) => previous.toplevels[HOSTS[i] as string] as string });
    const inventory = parse(await readFile(join(flake, 'fleet.yaml'), 'utf8')) as { hosts: Record<string, { deploy?: unknown }> };
    for (const host of fleet.hosts) (inventory.hosts[host.name] as { deploy?: unknown }).deploy = host.inventoryHost().deploy;
    await writeFile(join(work, 'fleet.yaml'), stringify(inventory));
    say('action-deploy: canary web1, then the rest; hosts substitute their closures from the cache');
    await runBundle(
      'action-deploy',
      {
        inventory: join(work, 'fleet.yaml'),
        environment: 'production',
        hosts: HOSTS.join(','),
        'store-paths': JSON.stringify(storePaths),
        'ssh-private-key': fleet.privateKey,
        'ssh-known-hosts': fleet.knownHosts,
        substituters: s3.url,
        'trusted-public-keys': keys.public,
        'max-concurrency': '2',
        deployment: 'false',
      },
      env,
    );
    for (const host of fleet.hosts) process.stdout.write(`  ${host.name} now runs ${await host.currentSystem()}\n`);
  }
  say('Done: everything started is stopped');
} finally {
  await fleet?.stop();
  await s3.stop();
  await rm(work, { recursive: true, force: true });
}

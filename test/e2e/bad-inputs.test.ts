import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github/index.js';
import { repoRoot, runAction, type ActionResult } from '../support/harness.js';
import { nixKeyPair } from '../support/keys.js';
import { startOidcIssuer, type OidcIssuer } from '../support/oidc/index.js';

/**
 * The bad-input table: one wrong value at a time, through each committed bundle and the CLI.
 * For every row the step fails, the error names the input, shows the value (never a secret) and a
 * good one, and nothing is contacted (GitHub, the OIDC issuer, the cache, nix, ssh) or written.
 */

type Action = 'action-build' | 'action-deploy' | 'action-flake-bump' | 'action-gc' | 'action-upgrade-wave';

interface BadInput {
  /** The wrong value (and whatever else the row needs), over the action's otherwise good inputs. */
  inputs: Record<string, string>;
  /** The input the error names; the first key of `inputs` when absent. */
  input?: string;
  /**
   * The value as the error shows it: by default the wrong value quoted. `null` when there is no
   * value to show (a required input left out) or it is a secret.
   */
  shows?: string | null;
  /** What the error must explain. */
  says: string;
  /** A secret in the row: it must appear nowhere in the step's output. */
  secret?: string;
}

const ROLE = 'arn:aws:iam::123456789012:role/fleet-ci';
const STORE_PATH = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-web1-24.11';
const signingKey = nixKeyPair('fleet-manifest-1');

const BUILD: [string, BadInput][] = [
  ['a flake starting with "-"', { inputs: { flake: '--impure' }, says: 'which Nix would read as an option' }],
  ['an installable starting with "-"', { inputs: { installables: '.#a\n--option' }, shows: '"--option"', says: 'is not an installable' }],
  ['a tag selector without an inventory', { inputs: { hosts: '@clinic' }, says: 'needs the inventory input' }],
  ['a wave selector without an inventory', { inputs: { hosts: 'web1, wave:first' }, shows: '"wave:first"', says: 'needs the inventory input' }],
  ['a negated environment selector without an inventory', { inputs: { hosts: 'all, !env:staging' }, shows: '"!env:staging"', says: 'needs the inventory input' }],
  ['a system with a space', { inputs: { system: 'x86 64-linux' }, says: 'is not a Nix system' }],
  ['runners naming something that is no system', { inputs: { runners: 'linux: ubuntu-latest', plan: 'true' }, shows: '"linux"', says: 'is not a Nix system' }],
  ['runners with a label that has a space', { inputs: { runners: 'x86_64-linux: ubuntu latest', plan: 'true' }, shows: '"ubuntu latest"', says: 'is not a runner label' }],
  ['runners that are a bare label', { inputs: { runners: 'ubuntu-latest', plan: 'true' }, shows: '"ubuntu-latest"', says: 'is not "system: runner label" lines' }],
  ['shards of 0', { inputs: { shards: '0', plan: 'true' }, says: 'is below the minimum 1' }],
  ['an unsupported cache scheme, with a password', { inputs: { cache: 'ftp://deploy:hunter2@cache.example.org/nix' }, shows: '"ftp://deploy:***@cache.example.org/nix"', secret: 'hunter2', says: 'must start with s3://' }],
  ['a cache that is a bare path', { inputs: { cache: '/srv/nix-cache' }, says: 'must start with s3://' }],
  ['an S3 bucket name with capitals', { inputs: { cache: 's3://My_Cache?region=eu-west-1' }, says: 'has no valid bucket name' }],
  ['an S3 URL carrying credentials', { inputs: { cache: 's3://AKIAEXAMPLE:wJalrXUtnFEMI@my-cache' }, shows: '"s3://AKIAEXAMPLE:***@my-cache"', secret: 'wJalrXUtnFEMI', says: 'carries credentials' }],
  ['an S3 region with bad characters', { inputs: { cache: 's3://my-cache?region=eu_west!' }, says: 'has an invalid region' }],
  ['an S3 endpoint scheme other than http(s)', { inputs: { cache: 's3://my-cache?endpoint=minio:9000&scheme=ftp' }, says: 'use scheme=http or scheme=https' }],
  ['an S3 key prefix with "//"', { inputs: { cache: 's3://my-cache/a//b' }, says: 'has an invalid key prefix' }],
  ['a file cache inside /proc', { inputs: { cache: 'file:///proc/self/fd' }, says: 'is inside /proc' }],
  ['a file cache with a host', { inputs: { cache: 'file://srv/nix-cache' }, says: 'must have an absolute path after file://' }],
  ['an ssh cache whose host is an ssh option', { inputs: { cache: 'ssh://-oProxyCommand=sh' }, says: 'which ssh could read as an option' }],
  ['an ssh cache whose user is an ssh option', { inputs: { cache: 'ssh-ng://-oProxyCommand=sh@cache.example.org' }, says: 'which ssh could read as an option' }],
  ['a signing key without a name', { inputs: { 'signing-key': 'c2VjcmV0LWtleS1ieXRlcw==' }, shows: null, secret: 'c2VjcmV0LWtleS1ieXRlcw==', says: 'is not in Nix\'s "name:base64" form' }],
  ['a signing key that is too short', { inputs: { 'signing-key': 'cache-1:c2VjcmV0LWtleS1ieXRlcw==' }, shows: null, secret: 'c2VjcmV0LWtleS1ieXRlcw==', says: 'bytes' }],
  ['an unknown compression', { inputs: { compression: 'gzip' }, says: 'is not one of zstd, xz, none' }],
  ['a compression level above 19', { inputs: { 'compression-level': '25' }, says: 'is above the maximum 19' }],
  ['a compression level that is a word', { inputs: { 'compression-level': 'high' }, says: 'is not a whole number' }],
  ['a concurrency of 0', { inputs: { concurrency: '0' }, says: 'is below the minimum 1' }],
  ['a concurrency above 512', { inputs: { concurrency: '10000' }, says: 'is above the maximum 512' }],
  ['a concurrency that is a word', { inputs: { concurrency: 'many' }, says: 'is not a whole number' }],
  ['a role that is a bare name', { inputs: { 'role-to-assume': 'fleet-ci' }, says: 'is not an IAM role ARN' }],
  ['a role ARN with a short account', { inputs: { 'role-to-assume': 'arn:aws:iam::1234:role/fleet-ci' }, says: 'is not an IAM role ARN' }],
  ['a region that is a word', { inputs: { 'aws-region': 'Europe' }, says: 'is not an AWS region' }],
  ['a role duration under 15 minutes', { inputs: { 'role-duration-seconds': '60' }, says: 'is below the minimum 900' }],
  ['a role duration over 12 hours', { inputs: { 'role-duration-seconds': '99999' }, says: 'is above the maximum 43200' }],
  ['push neither auto, true nor false', { inputs: { push: 'maybe' }, says: 'is not one of auto, true, false' }],
  ['push true without a cache', { inputs: { push: 'true', cache: '' }, input: 'cache', shows: null, says: 'is required when push is true' }],
  ['skip-upstream that is a host name', { inputs: { 'skip-upstream': 'cache.nixos.org' }, says: 'is not in Nix\'s "name:base64" form' }],
  ['skip-upstream of the wrong length', { inputs: { 'skip-upstream': 'cache.nixos.org-1:AAAA' }, says: 'holds 3 bytes' }],
  ['nix-eval-cache that is not a boolean', { inputs: { 'nix-eval-cache': 'sometimes' }, says: 'is not a boolean' }],
  ['verify-cache that is not a boolean', { inputs: { 'verify-cache': 'y' }, says: 'is not a boolean' }],
  ['an inventory that does not exist', { inputs: { inventory: 'fleet.yml' }, says: 'cannot be read: no such file' }],
  ['two bad inputs at once', { inputs: { concurrency: 'many', compression: 'gzip' }, says: '2 inputs are invalid' }],
];

const DEPLOY: [string, BadInput][] = [
  ['no environment', { inputs: { environment: '' }, shows: null, says: 'is required' }],
  ['an inventory that does not exist', { inputs: { inventory: 'inventory/fleet.yaml' }, says: 'cannot be read: no such file' }],
  ['an inventory that is a directory', { inputs: { inventory: '.' }, says: 'cannot be read: it is a directory' }],
  ['no hosts', { inputs: { hosts: '' }, shows: null, says: 'is required' }],
  ['an unknown action', { inputs: { action: 'explode' }, says: 'is not one of switch, boot, test, dry-activate, reboot' }],
  ['a flake starting with "-"', { inputs: { flake: '-L' }, says: 'which Nix would read as an option' }],
  ['store-paths that is not JSON', { inputs: { 'store-paths': 'web1=/nix/store/x' }, says: 'is not valid JSON' }],
  ['store-paths that is a list', { inputs: { 'store-paths': '["/nix/store/x"]' }, says: 'must be a JSON object from host to store path' }],
  ['store-paths with a path outside the store', { inputs: { 'store-paths': '{"web1":"/tmp/system"}' }, says: 'the path of "web1", "/tmp/system", is not a store path' }],
  ['a negative canary', { inputs: { canary: '-1' }, says: 'is below the minimum 0' }],
  ['a canary that is a word', { inputs: { canary: 'one' }, says: 'is not a whole number' }],
  ['max-concurrency over 100%', { inputs: { 'max-concurrency': '150%' }, says: 'is more than 100%' }],
  ['max-concurrency that is a word', { inputs: { 'max-concurrency': 'all' }, says: 'is not a number or a percentage' }],
  ['max-errors with a fraction', { inputs: { 'max-errors': '0.5' }, says: 'is not a number or a percentage' }],
  ['health-check-timeout past the maximum', { inputs: { 'health-check-timeout': '25d' }, says: 'is longer than the maximum 1h' }],
  ['health-check-timeout under the minimum', { inputs: { 'health-check-timeout': '0s' }, says: 'is shorter than the minimum' }],
  ['health-check-timeout that is no duration', { inputs: { 'health-check-timeout': 'soon' }, says: 'is not a duration' }],
  ['a health check with a time limit too long', { inputs: { 'health-checks': 'systemctl is-active nginx\n[25d] curl -fsS localhost' }, shows: '"[25d] curl -fsS localhost"', says: 'line 2' }],
  ['a health check with no time unit', { inputs: { 'health-checks': '[soon] true' }, says: 'is not a time limit' }],
  ['an unknown rollback', { inputs: { rollback: 'maybe' }, says: 'is not one of auto, off' }],
  ['confirm-timeout past the maximum', { inputs: { 'confirm-timeout': '30d' }, says: 'is longer than the maximum 1h' }],
  ['confirm-timeout that is no duration', { inputs: { 'confirm-timeout': 'forever' }, says: 'is not a duration' }],
  ['an ssh key that is a public key', { inputs: { 'ssh-private-key': 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl deploy' }, shows: null, secret: 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl', says: 'is a public key' }],
  ['an ssh key cut before its END line', { inputs: { 'ssh-private-key': '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB' }, shows: null, secret: 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB', says: 'is not a private key file' }],
  ['known hosts with a fingerprint for a key', { inputs: { 'ssh-known-hosts': 'web1.example.org ssh-ed25519 SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU' }, shows: '"web1.example.org ssh-ed25519 SHA256:47DEQpj8HBSa+/TImW+5J…"', says: 'the key is not base64' }],
  ['known hosts without a key', { inputs: { 'ssh-known-hosts': 'web1.example.org ssh-ed25519' }, says: 'needs a host, a key type and a key' }],
  ['known hosts with an unknown key type', { inputs: { 'ssh-known-hosts': 'web1.example.org ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoq' }, shows: '"ed25519"', says: 'is not a key type' }],
  ['known hosts with an unknown marker', { inputs: { 'ssh-known-hosts': '@trusted web1.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoq' }, shows: '"@trusted"', says: 'unknown marker' }],
  ['an ssh user that is an ssh option', { inputs: { 'ssh-user': '-oProxyCommand=touch /tmp/pwned' }, says: 'is not a user name ssh takes' }],
  ['an ssh user with a host in it', { inputs: { 'ssh-user': 'root@web1' }, says: 'is not a user name ssh takes' }],
  ['a substituter that is a host name', { inputs: { substituters: 'cache.example.org' }, says: 'is not a binary cache URL' }],
  ['substituters without trusted keys', { inputs: { substituters: 'https://cache.example.org' }, input: 'trusted-public-keys', shows: '"https://cache.example.org"', says: 'is required with substituters' }],
  ['a trusted key that is a URL', { inputs: { substituters: 'https://cache.example.org', 'trusted-public-keys': 'https://cache.example.org' }, input: 'trusted-public-keys', shows: '"https://cache.example.org"', says: 'is not a public key' }],
  ['a manifest store with an unsupported scheme', { inputs: { 'manifest-store': 'ftp://cache.example.org' }, says: 'must start with s3://, http://, https:// or file://' }],
  ['a manifest store with a bad bucket', { inputs: { 'manifest-store': 's3://Fleet_Manifests' }, says: 'has no valid bucket name' }],
  ['a manifest store inside /sys', { inputs: { 'manifest-store': 'file:///sys/kernel' }, says: 'is inside /sys' }],
  ['no manifest store for pull hosts', { inputs: { 'manifest-store': '' }, shows: null, says: 'is required to deploy pull hosts (clinic-kin)' }],
  ['a manifest signing key without a name', { inputs: { 'manifest-signing-key': 'bm90LWEta2V5LWF0LWFsbA==' }, shows: null, secret: 'bm90LWEta2V5LWF0LWFsbA==', says: 'is not in Nix\'s "name:base64" form' }],
  ['no manifest signing key for pull hosts', { inputs: { 'manifest-signing-key': '' }, shows: null, says: 'is required to deploy pull hosts' }],
  ['wait past the maximum', { inputs: { wait: '25d' }, says: 'is longer than the maximum 5d' }],
  ['wait that is no duration', { inputs: { wait: 'a while' }, says: 'is not a duration' }],
  ['manifest-lifetime past the maximum', { inputs: { 'manifest-lifetime': '999999999999d' }, says: 'is longer than the maximum 90d' }],
  ['manifest-lifetime under the minimum', { inputs: { 'manifest-lifetime': '1s' }, says: 'is shorter than the minimum' }],
  ['a role that is a user ARN', { inputs: { 'role-to-assume': 'arn:aws:iam::123456789012:user/deployer' }, says: 'is not an IAM role ARN' }],
  ['a region that is a word', { inputs: { 'aws-region': 'Mars' }, says: 'is not an AWS region' }],
  ['deployment that is not a boolean', { inputs: { deployment: 'perhaps' }, says: 'is not a boolean' }],
  ['dry-run that is not a boolean', { inputs: { 'dry-run': 'perhaps' }, says: 'is not a boolean' }],
];

const FLAKE_BUMP: [string, BadInput][] = [
  ['no token', { inputs: { token: '' }, shows: null, says: 'is required' }],
  ['a branch with ".."', { inputs: { branch: 'flake-bump..x' }, says: 'which git forbids in ref names' }],
  ['a branch with a space', { inputs: { branch: 'bump main' }, says: 'contains a space or a control character' }],
  ['a branch starting with "-"', { inputs: { branch: '-f' }, says: 'git would read it as an option' }],
  ['a branch with "~"', { inputs: { branch: 'bump~1' }, says: 'git forbids' }],
  ['a base given as a full ref', { inputs: { base: 'refs/heads/main' }, says: 'is a full ref' }],
  ['a base ending in .lock', { inputs: { base: 'main.lock' }, says: '.lock' }],
  ['an unknown group', { inputs: { group: 'weekly' }, says: 'is not one of all, per-input' }],
  ['an unknown auto-merge', { inputs: { 'auto-merge': 'yes' }, says: 'is not one of off, merge, squash, rebase' }],
  ['an unknown commit-method', { inputs: { 'commit-method': 'ssh' }, says: 'is not one of api, git' }],
  ['an unknown checks', { inputs: { checks: 'all' }, says: 'is not one of none, eval, build, flake-check' }],
  ['an input name that is a Nix option', { inputs: { inputs: 'nixpkgs, --override-input' }, shows: '"--override-input"', says: 'is not a flake input name' }],
  ['a reviewer with a space', { inputs: { reviewers: 'octo cat' }, says: 'is not a GitHub user name' }],
  ['a nix option without a value', { inputs: { 'nix-options': 'max-jobs' }, says: 'max-jobs' }],
  ['a path outside the workspace', { inputs: { path: '/' }, says: 'outside the workspace' }],
  ['a path that does not exist', { inputs: { path: 'flakes/missing' }, says: 'flakes/missing' }],
];

const GC: [string, BadInput][] = [
  ['no cache', { inputs: { cache: '' }, shows: null, says: 'is required: the binary cache to collect' }],
  ['an unsupported cache scheme, with a password', { inputs: { cache: 'ftp://gc:hunter2@cache.example.org/nix' }, shows: '"ftp://gc:***@cache.example.org/nix"', secret: 'hunter2', says: 'must start with s3://' }],
  ['an S3 bucket name with capitals', { inputs: { cache: 's3://My_Cache?region=eu-west-1' }, says: 'has no valid bucket name' }],
  ['keep-builds of 0', { inputs: { 'keep-builds': '0' }, says: 'is below the minimum 1' }],
  ['keep-generations above 10', { inputs: { 'keep-generations': '11' }, says: 'is above the maximum 10' }],
  ['a min-age that is no duration', { inputs: { 'min-age': 'a fortnight' }, says: 'is not a duration' }],
  ['a min-age above a year', { inputs: { 'min-age': '400d' }, says: 'is longer than the maximum 365d' }],
  ['a dry-run that is no boolean', { inputs: { 'dry-run': 'maybe' }, says: 'is not a boolean' }],
  ['a role for a cache that is not S3', { inputs: { 'role-to-assume': ROLE }, says: 'only applies to an s3:// cache' }],
  ['a role that is no role ARN', { inputs: { 'role-to-assume': 'fleet-gc', cache: 's3://my-cache?region=eu-west-1' }, says: 'is not an IAM role ARN' }],
  ['an inventory that does not exist', { inputs: { inventory: 'fleet.json' }, says: 'cannot be read: no such file' }],
];

const UPGRADE_WAVE: [string, BadInput][] = [
  ['an unknown mode', { inputs: { mode: 'yolo' }, says: 'is not one of status, promote, advance' }],
  ['an inventory that does not exist', { inputs: { inventory: 'fleet.json' }, says: 'cannot be read: no such file' }],
  ['an unknown status source', { inputs: { 'status-source': 'pigeon' }, says: 'is not one of cache, ssh, deployments' }],
  ['a source branch with ".."', { inputs: { 'source-branch': 'staging..main' }, says: 'which git forbids' }],
  ['a target branch starting with "-"', { inputs: { 'target-branch': '-main' }, says: 'git would read it as an option' }],
  ['expected that is not JSON', { inputs: { expected: 'web1: /nix/store/x' }, says: 'is not valid JSON' }],
  ['baseline that is not JSON', { inputs: { baseline: '{web1}' }, says: 'is not valid JSON' }],
  ['next-expected that is not JSON', { inputs: { 'next-expected': "{'web1': 1}" }, says: 'is not valid JSON' }],
  ['expected naming a host the inventory lacks', { inputs: { expected: JSON.stringify({ web9: STORE_PATH }) }, shows: '"web9"', says: 'is not a host of the inventory' }],
  ['expected with a path outside the store', { inputs: { expected: '{"web1":"/tmp/system"}' }, shows: '"/tmp/system"', says: 'is not a store path' }],
  ['a flake starting with "-"', { inputs: { flake: '--impure' }, says: 'which Nix would read as an option' }],
  ['a cache with an unsupported scheme', { inputs: { cache: 'ftp://cache.example.org' }, says: 'must start with s3://, http://, https:// or file://' }],
  ['a cache with a bad bucket', { inputs: { cache: 's3://UPPER' }, says: 'has no valid bucket name' }],
  ['a cache inside /dev', { inputs: { cache: 'file:///dev/input' }, says: 'is inside /dev' }],
  ['a cache with a password', { inputs: { cache: 'https://reader:s3cr3t-pass@cache.example.org/x y' }, shows: null, secret: 's3cr3t-pass', says: 'must start with s3://' }],
  ['a role that is a bare name', { inputs: { 'role-to-assume': 'reader' }, says: 'is not an IAM role ARN' }],
  ['a role with a cache that is not S3', { inputs: { cache: 'https://cache.example.org' }, input: 'role-to-assume', shows: JSON.stringify(ROLE), says: 'only applies to an s3:// cache' }],
  ['a region that is a word', { inputs: { 'aws-region': 'Ireland' }, says: 'is not an AWS region' }],
  ['a soak past the maximum', { inputs: { soak: '999999999999d' }, says: 'is longer than the maximum 90d' }],
  ['a soak that is no duration', { inputs: { soak: 'long' }, says: 'is not a duration' }],
  ['a quorum of 0', { inputs: { quorum: '0' }, says: 'must be at least 1 host or 1%' }],
  ['a quorum over 100%', { inputs: { quorum: '120%' }, says: 'is more than 100%' }],
  ['a quorum that is a word', { inputs: { quorum: 'most' }, says: 'is not a number or a percentage' }],
  ['offline-after past the maximum', { inputs: { 'offline-after': '25000d' }, says: 'is longer than the maximum 90d' }],
  ['offline-after under the minimum', { inputs: { 'offline-after': '10s' }, says: 'is shorter than the minimum 1m' }],
  ['an unknown auto-merge', { inputs: { 'auto-merge': 'always' }, says: 'is not one of off, merge, squash, rebase' }],
  ['abort that is not a boolean', { inputs: { abort: 'maybe' }, says: 'is not a boolean' }],
  ['promote without a token', { inputs: { token: '' }, shows: null, says: 'is required to open pull requests' }],
  ['a cache status source without a cache', { inputs: { cache: '', 'role-to-assume': '' }, input: 'cache', shows: null, says: 'is required when status-source is cache' }],
];

describe('the bad-input table', () => {
  let gh: GitHubEmulator;
  let oidc: OidcIssuer;
  let cache: Server;
  let cacheUrl: string;
  const cacheRequests: string[] = [];
  let work: string;
  let sentinels: string;

  beforeAll(async () => {
    [gh, oidc, work] = await Promise.all([startGitHubEmulator({ owner: 'acme', repo: 'fleet' }), startOidcIssuer(), mkdtemp(join(tmpdir(), 'fleet-bad-input-table-'))]);
    cache = createServer((req, res) => {
      cacheRequests.push(`${req.method} ${req.url}`);
      res.writeHead(500).end();
    });
    await new Promise<void>((resolve) => cache.listen(0, '127.0.0.1', resolve));
    cacheUrl = `http://127.0.0.1:${(cache.address() as AddressInfo).port}/cache`;

    // A checkout: the inventory and a flake in a git work tree (flake-bump checks where its paths are).
    const checkout = join(work, 'checkout');
    await mkdir(checkout, { recursive: true });
    await writeFile(
      join(checkout, 'fleet.yaml'),
      stringify({
        environments: { production: { 'allowed-refs': ['refs/heads/main'] } },
        waves: { first: { order: 1, soak: '1h' } },
        hosts: { web1: { environment: 'production', wave: 'first', deploy: { method: 'ssh', host: 'web1.example.org' } }, 'clinic-kin': { environment: 'production', wave: 'first', deploy: { method: 'pull' } } },
      }),
    );
    await writeFile(join(checkout, 'flake.nix'), '{ outputs = _: { }; }\n');
    await promisify(execFile)('git', ['init', '-q', checkout]);

    // Whatever would reach a host, the cache or a build: each records that it was run, and fails.
    sentinels = join(work, 'bin');
    await mkdir(sentinels);
    for (const tool of ['nix', 'nix-store', 'nix-build', 'nix-instantiate', 'ssh', 'ssh-agent', 'ssh-add', 'scp', 'curl']) {
      await writeFile(join(sentinels, tool), `#!/bin/sh\necho "${tool} $*" >> "${join(work, 'ran')}"\nexit 97\n`);
      await chmod(join(sentinels, tool), 0o755);
    }
  });
  afterAll(async () => {
    cache?.closeAllConnections();
    await Promise.all([gh?.stop(), oidc?.stop(), new Promise((resolve) => cache?.close(resolve))]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  const baseInputs = (action: Action): Record<string, string> => {
    switch (action) {
      case 'action-build':
        return { cache: cacheUrl, 'role-to-assume': ROLE, inventory: '' };
      case 'action-deploy':
        return { environment: 'production', hosts: 'all', 'role-to-assume': ROLE, 'manifest-store': cacheUrl, 'manifest-signing-key': signingKey.secret, 'github-token': gh.token };
      case 'action-flake-bump':
        return { token: gh.token };
      case 'action-gc':
        return { cache: cacheUrl, 'dry-run': 'false' };
      case 'action-upgrade-wave':
        return { mode: 'promote', cache: 's3://fleet-status?region=eu-west-1', 'role-to-assume': ROLE, token: gh.token };
    }
  };

  async function runRow(action: Action, row: BadInput): Promise<ActionResult> {
    const checkout = join(work, 'checkout');
    return runAction(action, {
      inputs: { ...baseInputs(action), ...row.inputs },
      githubToken: gh.token,
      cwd: checkout,
      env: { ...gh.env(), ...oidc.env, AWS_REGION: 'eu-west-1', PATH: `${sentinels}:${process.env.PATH ?? '/usr/bin:/bin'}` },
    });
  }

  async function expectRefusedAlone(action: Action, row: BadInput) {
    // Counted per row, so one row that writes or calls out fails alone.
    const seen = { github: gh.requests.length, oidc: oidc.requests.length, cache: cacheRequests.length };
    const files = await listing(join(work, 'checkout'));
    await rm(join(work, 'ran'), { force: true });
    const result = await runRow(action, row);
    const input = row.input ?? Object.keys(row.inputs)[0] ?? '';
    const errors = result.annotations.filter((a) => a.level === 'error').map((a) => a.message);
    expect(result.exitCode).toBe(1);
    expect(errors).toHaveLength(1);
    expect(result.stderr).not.toContain('TimeoutOverflowWarning');
    const error = errors[0] ?? '';
    expect(error).toContain(`Input "${input}":`);
    expect(error).toContain(`Example: ${input}: `);
    expect(error).toContain(row.says);
    const value = row.inputs[input];
    const shows = row.shows === undefined ? JSON.stringify(value) : row.shows;
    if (shows !== null) expect(error).toContain(shows);
    if (row.secret) {
      // Masked at once (the runner swallows `::add-mask::` lines), and in no other line.
      expect(result.masks.some((mask) => mask.includes(row.secret ?? ''))).toBe(true);
      const printed = `${result.stdout}\n${result.post?.stdout ?? ''}`.split('\n').filter((line) => !line.startsWith('::add-mask::'));
      expect(`${printed.join('\n')}\n${result.stderr}\n${result.summary}`).not.toContain(row.secret);
    }

    expect(gh.requests.slice(seen.github)).toEqual([]);
    expect(oidc.requests.slice(seen.oidc)).toEqual([]);
    expect(cacheRequests.slice(seen.cache)).toEqual([]);
    expect(await readFile(join(work, 'ran'), 'utf8').catch(() => '')).toBe('');
    expect(await listing(join(work, 'checkout'))).toEqual(files);
  }

  it.each(BUILD)('action-build: %s', (_, row) => expectRefusedAlone('action-build', row));
  it.each(DEPLOY)('action-deploy: %s', (_, row) => expectRefusedAlone('action-deploy', row));
  it.each(FLAKE_BUMP)('action-flake-bump: %s', (_, row) => expectRefusedAlone('action-flake-bump', row));
  it.each(GC)('action-gc: %s', (_, row) => expectRefusedAlone('action-gc', row));
  it.each(UPGRADE_WAVE)('action-upgrade-wave: %s', (_, row) => expectRefusedAlone('action-upgrade-wave', row));

  it('has at least 60 rows over the five actions', () => {
    expect(BUILD.length + DEPLOY.length + FLAKE_BUMP.length + GC.length + UPGRADE_WAVE.length).toBeGreaterThanOrEqual(60);
  });
});

/** Every file under `dir` with its size and modification time: a write anywhere changes it. */
async function listing(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  const rows = await Promise.all(
    entries.filter((name) => !name.startsWith('.git/') && name !== '.git').map(async (name) => {
      const info = await stat(join(dir, name));
      return `${name} ${info.size} ${info.mtimeMs}`;
    }),
  );
  return rows.sort();
}

describe('the bad-input table: fleet on the command line', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'fleet-bad-cli-'));
    await writeFile(join(work, 'empty-key'), '\n');
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  const fleet = (args: string[]) =>
    promisify(execFile)(join(repoRoot, 'bin', 'fleet'), args, { cwd: work, env: { ...process.env, FLEET_SIGNING_KEY: '' } }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

  it.each<[string, string[], number, string[]]>([
    ['an unknown command', ['deplyo'], 2, ['unknown command "deplyo"', 'fleet deploy']],
    ['an unknown flag', ['build', '--cahce', 'file:///tmp/x'], 2, ['unknown flag --cahce', 'see --help']],
    ['a stray argument', ['build', 'web1'], 2, ['unexpected argument "web1"', 'flags look like --cache s3://bucket']],
    ['a secret on the command line', ['build', '--signing-key', 'cache-1:c2VjcmV0'], 2, ['--signing-key would put a secret on the command line', '--signing-key-file PATH or FLEET_SIGNING_KEY']],
    ['a secret flag given inline', ['deploy', '--ssh-private-key=-----BEGIN'], 2, ['--ssh-private-key would put a secret on the command line']],
    ['a --NAME-file that does not exist', ['build', '--signing-key-file', '/nonexistent/fleet-key'], 2, ['--signing-key-file: cannot read "/nonexistent/fleet-key": no such file', '(example: --signing-key-file ~/.config/fleet/signing-key)']],
    ['a --NAME-file without a path', ['build', '--signing-key-file'], 2, ['--signing-key-file needs the path of a file holding the value']],
    ['a --NAME-file that is empty', ['deploy', '--ssh-private-key-file', 'empty-key'], 2, ['--ssh-private-key-file: "empty-key" is empty']],
    ['a --NAME-file that is a directory', ['build', '--signing-key-file', '/'], 2, ['--signing-key-file: cannot read "/": it is a directory']],
    ['status with another mode', ['status', '--mode', 'promote'], 2, ['fleet status always runs with --mode status, not "promote"', 'fleet wave --mode promote']],
    ['a bad cache for build', ['build', '--cache', 'ftp://x'], 1, ['Input "cache": "ftp://x" must start with s3://', 'Example: cache: ']],
    ['a bad duration for deploy', ['deploy', '--environment', 'production', '--hosts', 'all', '--health-check-timeout', '25d'], 1, ['Input "health-check-timeout": "25d" is longer than the maximum 1h']],
    ['a bad branch for bump', ['bump', '--token-file', 'empty-key'], 2, ['--token-file: "empty-key" is empty']],
    ['a bad soak for wave', ['wave', '--soak', '999d'], 1, ['Input "soak": "999d" is longer than the maximum 90d', 'Example: soak: 24h']],
  ])('%s', async (_, args, code, says) => {
    const result = await fleet(args);
    expect(result.code).toBe(code);
    for (const text of says) expect(result.stderr).toContain(text);
    expect(`${result.stdout}${result.stderr}`).not.toContain('c2VjcmV0');
    expect(await readdir(work)).toEqual(['empty-key']);
  });
});

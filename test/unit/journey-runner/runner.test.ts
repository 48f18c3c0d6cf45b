import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandMatrix } from '../../support/workflows/matrix.js';
import { repoRoot } from '../../support/harness.js';
import { checkWorkflowPermissions, loadWorkflow, pullRequestEvent, pushEvent, runWorkflow, scheduleEvent, type RunnerSettings, type TriggerEvent } from '../../support/workflows/index.js';

const repo = { fullName: 'acme/fleet' };
const push = pushEvent(repo, { branch: 'main', sha: 'a'.repeat(40) });
const settings: RunnerSettings = {
  repository: 'acme/fleet',
  github: { apiUrl: 'http://127.0.0.1:1', graphqlUrl: 'http://127.0.0.1:1/graphql', serverUrl: 'https://github.com', token: 'ghs_test' },
  vars: { GREETING: 'hello' },
  secrets: { DEPLOY_KEY: 'k3y' },
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'journey-runner-'));
  await mkdir(join(dir, '.github', 'workflows'), { recursive: true });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

let counter = 0;
/** Writes `files` (workflows under .github/workflows) and runs the first one. */
async function run(workflow: string, event: TriggerEvent = push, called: Record<string, string> = {}, overrides: Partial<RunnerSettings> = {}) {
  const name = `caller-${++counter}.yml`;
  await writeFile(join(dir, '.github', 'workflows', name), workflow);
  for (const [file, content] of Object.entries(called)) await writeFile(join(dir, '.github', 'workflows', file), content);
  return runWorkflow(join(dir, '.github', 'workflows', name), event, { ...settings, ...overrides }, { localRoot: dir });
}

describe('journey runner', () => {
  it('runs jobs in needs order, passes outputs, and skips what if: and failures rule out', async () => {
    const result = await run(`
on: push
jobs:
  second:
    needs: first
    runs-on: ubuntu-latest
    steps:
      - env: { WORD: "\${{ needs.first.outputs.word }}" }
        run: echo "got=$WORD" >> "$GITHUB_OUTPUT"
        id: got
    outputs: { got: "\${{ steps.got.outputs.got }}" }
  first:
    runs-on: ubuntu-latest
    outputs: { word: "\${{ steps.say.outputs.word }}" }
    steps:
      - id: say
        run: echo "word=\${GREETING}-world" >> "$GITHUB_OUTPUT"
        env: { GREETING: "\${{ vars.GREETING }}" }
  never:
    if: github.event_name == 'schedule'
    runs-on: ubuntu-latest
    steps: [{ run: 'exit 1' }]
  broken:
    runs-on: ubuntu-latest
    steps:
      - run: echo "::error title=x::it broke" && exit 3
      - run: echo not reached
      - if: failure()
        run: echo "cleanup" >> "$GITHUB_STEP_SUMMARY"
  after-broken:
    needs: broken
    runs-on: ubuntu-latest
    steps: [{ run: 'true' }]
  always-after-broken:
    needs: broken
    if: always() && needs.broken.result == 'failure'
    runs-on: ubuntu-latest
    steps: [{ run: 'true' }]
`);
    expect(result.jobs.map((j) => j.name)).toEqual(['first', 'never', 'broken', 'second', 'after-broken', 'always-after-broken']);
    expect(result.job('second').outputs).toEqual({ got: 'hello-world' });
    expect(result.job('never')).toMatchObject({ result: 'skipped', skippedBecause: "success() && (github.event_name == 'schedule')" });
    expect(result.job('broken').result).toBe('failure');
    expect(result.job('broken').steps.map((s) => s.conclusion)).toEqual(['failure', 'skipped', 'success']);
    expect(result.job('broken').summary).toBe('cleanup\n');
    expect(result.job('broken').steps[0]?.annotations).toEqual([{ level: 'error', message: 'it broke' }]);
    expect(result.job('after-broken').result).toBe('skipped');
    expect(result.job('always-after-broken').result).toBe('success');
    expect(result.result).toBe('failure');
  });

  it('gives steps the github context and GITHUB_* of the event, env from GITHUB_ENV, shell and working-directory', async () => {
    const pr = pullRequestEvent(repo, { number: 7, head: 'feature', headSha: 'b'.repeat(40) });
    const result = await run(
      `
on: [pull_request]
env: { LEVEL: workflow }
jobs:
  show:
    runs-on: ubuntu-latest
    env: { JOB_LEVEL: job }
    steps:
      - run: mkdir sub && echo x > sub/file && echo "EXPORTED=from-step" >> "$GITHUB_ENV"
      - id: ctx
        working-directory: sub
        shell: sh
        env:
          REF: \${{ github.ref }}
          HEAD: \${{ github.head_ref }}
          NUMBER: \${{ github.event.pull_request.number }}
          WS: \${{ github.workspace }}
          TEMP: \${{ runner.temp }}
        run: |
          printf 'ref=%s\\nhead=%s\\nnumber=%s\\n' "$REF" "$HEAD" "$NUMBER" >> "$GITHUB_OUTPUT"
          printf 'event=%s\\nsha=%s\\n' "$GITHUB_EVENT_NAME" "$GITHUB_SHA" >> "$GITHUB_OUTPUT"
          printf 'env=%s\\ndir=%s\\n' "$LEVEL/$JOB_LEVEL/$EXPORTED" "$(basename "$PWD")" >> "$GITHUB_OUTPUT"
          [ "$WS" = "$GITHUB_WORKSPACE" ] && [ "$TEMP" = "$RUNNER_TEMP" ] && echo "same=yes" >> "$GITHUB_OUTPUT"
          echo "payload=$(grep -c '"number":7' "$GITHUB_EVENT_PATH")" >> "$GITHUB_OUTPUT"
      - id: hashed
        env: { HASH: "\${{ hashFiles('sub/**') }}", NONE: "\${{ hashFiles('nothing/*') }}" }
        run: echo "hash=\${#HASH}:\${NONE:-empty}" >> "$GITHUB_OUTPUT"
      - id: flaky
        continue-on-error: true
        timeout-minutes: 0.02
        run: sleep 30
      - if: steps.flaky.outcome == 'failure' && steps.flaky.conclusion == 'success'
        run: echo "tolerated" >> "$GITHUB_STEP_SUMMARY"
`,
      pr,
    );
    const job = result.job('show');
    expect(job.result).toBe('success');
    expect(job.steps[1]?.outputs).toEqual({ ref: 'refs/pull/7/merge', head: 'feature', number: '7', event: 'pull_request', sha: 'b'.repeat(40), env: 'workflow/job/from-step', dir: 'sub', payload: '1', same: 'yes' });
    expect(job.steps[2]?.outputs).toEqual({ hash: '64:empty' });
    expect(job.steps[3]).toMatchObject({ outcome: 'failure', conclusion: 'success' });
    expect(job.summary).toBe('tolerated\n');
  });

  it('expands a matrix from fromJSON with include and exclude, one leg each', async () => {
    const result = await run(`
on: push
jobs:
  plan:
    runs-on: ubuntu-latest
    outputs: { list: "\${{ steps.p.outputs.list }}" }
    steps:
      - id: p
        run: echo 'list=["a","b","c"]' >> "$GITHUB_OUTPUT"
  legs:
    needs: plan
    runs-on: ubuntu-latest
    strategy:
      matrix:
        item: \${{ fromJSON(needs.plan.outputs.list) }}
        exclude: [{ item: b }]
        include: [{ item: c, extra: x }, { item: d }]
    steps:
      - env: { I: "\${{ matrix.item }}", E: "\${{ matrix.extra }}", N: "\${{ strategy.job-index }}/\${{ strategy.job-total }}" }
        run: echo "$I$E $N" >> "$GITHUB_STEP_SUMMARY"
`);
    expect(result.jobs.filter((j) => j.name.startsWith('legs')).map((j) => [j.name, j.summary])).toEqual([
      ['legs (a)', 'a 0/3\n'],
      ['legs (c, x)', 'cx 1/3\n'],
      ['legs (d)', 'd 2/3\n'],
    ]);
    expect(expandMatrix({ os: ['x', 'y'], include: [{ os: 'x', arm: true }, { os: 'z' }] }, 't')).toEqual([{ os: 'x', arm: true }, { os: 'y' }, { os: 'z' }]);
  });

  const reusable = `
on:
  workflow_call:
    inputs:
      who: { type: string, required: true }
      times: { type: number, default: 2 }
      loud: { type: boolean, default: false }
    secrets:
      key: { required: false }
    outputs:
      said: { value: "\${{ jobs.say.outputs.said }}" }
jobs:
  say:
    runs-on: ubuntu-latest
    outputs: { said: "\${{ steps.s.outputs.said }}" }
    steps:
      - id: s
        env: { WHO: "\${{ inputs.who }}", TIMES: "\${{ inputs.times }}", LOUD: "\${{ inputs.loud }}", KEY: "\${{ secrets.key }}", INHERITED: "\${{ secrets.DEPLOY_KEY }}" }
        run: echo "said=$WHO x$TIMES loud=$LOUD key=$KEY inherited=$INHERITED" >> "$GITHUB_OUTPUT"
`;

  it('calls a reusable workflow with typed inputs, defaults, secrets and secrets: inherit, and maps its outputs', async () => {
    const result = await run(
      `
on: push
jobs:
  explicit:
    uses: ./.github/workflows/say.yml
    with: { who: "\${{ vars.GREETING }}", loud: true }
    secrets: { key: "\${{ secrets.DEPLOY_KEY }}" }
  inherit:
    uses: ./.github/workflows/say.yml
    with: { who: inherit }
    secrets: inherit
  show:
    needs: [explicit, inherit]
    runs-on: ubuntu-latest
    steps:
      - env: { A: "\${{ needs.explicit.outputs.said }}", B: "\${{ needs.inherit.outputs.said }}" }
        run: printf '%s\\n%s\\n' "$A" "$B" >> "$GITHUB_STEP_SUMMARY"
`,
      push,
      { 'say.yml': reusable },
    );
    expect(result.jobs.map((j) => j.name)).toEqual(['explicit / say', 'inherit / say', 'show']);
    expect(result.job('show').summary).toBe('hello x2 loud=true key=k3y inherited=\ninherit x2 loud=false key= inherited=k3y\n');
  });

  it('fails on an input the called workflow does not declare, and on a missing required one', async () => {
    const caller = (withBlock: string) => `
on: push
jobs:
  call:
    uses: ./.github/workflows/say2.yml
    with: ${withBlock}
`;
    await expect(run(caller('{ who: x, volume: 11 }'), push, { 'say2.yml': reusable })).rejects.toThrow(/volume is not defined in the referenced workflow/);
    await expect(run(caller('{ times: 3 }'), push, { 'say2.yml': reusable })).rejects.toThrow(/Input who is required/);
  });

  it('fails on an input our action does not declare, on a required input missing, and on an unknown uses:', async () => {
    const step = (uses: string, withBlock: string) => `
on: push
jobs:
  one:
    runs-on: ubuntu-latest
    steps:
      - uses: ${uses}
        with: ${withBlock}
`;
    await expect(run(step('fleet-nix/fleet/action-deploy@v1', '{ environment: production, hosts: all, colour: blue }'))).rejects.toThrow(/action-deploy has no input "colour"/);
    await expect(run(step('./action-deploy', '{ hosts: all }'))).rejects.toThrow(/action-deploy needs input "environment"/);
    await expect(run(step('someone/else@0123456789012345678901234567890123456789', '{ a: b }'))).rejects.toThrow(/cannot run uses: someone\/else@.*neither one of fleet-nix\/fleet's actions nor a documented stand-in/);
    await expect(run(step('actions/checkout@0123456789012345678901234567890123456789', '{ colour: blue }'))).rejects.toThrow(/checkout stand-in has no input colour/);
  });

  it('fails on an unknown function or context, and on an event the workflow does not handle', async () => {
    const body = (expression: string) => `
on: push
jobs:
  one:
    runs-on: ubuntu-latest
    steps:
      - env: { X: "\${{ ${expression} }}" }
        run: 'true'
`;
    await expect(run(body('frobnicate(github.ref)'))).rejects.toThrow(/frobnicate/i);
    await expect(run(body('nonsense.value'))).rejects.toThrow(/nonsense/i);
    await expect(run(body('github.ref'), scheduleEvent(repo, { cron: '0 0 * * *', sha: 'a'.repeat(40) }))).rejects.toThrow(/has no `on: schedule`/);
    await expect(run(body('github.ref').replace('on: push', 'on: { push: { branches: [main] } }'), pushEvent(repo, { branch: 'dev', sha: 'a'.repeat(40) }))).rejects.toThrow(/push filter does not match refs\/heads\/dev/);
  });

  it('records the environment a job names and gives it that environment\'s variables and secrets', async () => {
    const result = await run(
      `
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: production
    steps:
      - env: { URL: "\${{ vars.URL }}", TOKEN: "\${{ secrets.PROD_TOKEN }}" }
        run: echo "$URL $TOKEN" >> "$GITHUB_STEP_SUMMARY"
`,
      push,
      {},
      { environments: { production: { vars: { URL: 'https://prod' }, secrets: { PROD_TOKEN: 'p' } } } },
    );
    expect(result.job('deploy')).toMatchObject({ environment: 'production', summary: 'https://prod p\n' });
  });

  it("refuses a called job that asks for more than the calling job has, passes the caller's on otherwise, and gives OIDC variables only with id-token: write", async () => {
    const called = (permissions: string) => `
on: workflow_call
jobs:
  inner:
    runs-on: ubuntu-latest
    ${permissions}
    steps:
      - run: echo "oidc=\${ACTIONS_ID_TOKEN_REQUEST_URL:-none}" >> "$GITHUB_STEP_SUMMARY"
`;
    const caller = (file: string) => `
on: push
permissions: {}
jobs:
  plain:
    runs-on: ubuntu-latest
    permissions: { id-token: write }
    steps:
      - run: echo "oidc=\${ACTIONS_ID_TOKEN_REQUEST_URL:-none}" >> "$GITHUB_STEP_SUMMARY"
  call:
    uses: ./.github/workflows/${file}
    permissions: { contents: read, deployments: write }
`;
    const started: { name: string; permissions: Record<string, string> }[] = [];
    const settings = { oidcEnv: { ACTIONS_ID_TOKEN_REQUEST_URL: 'http://issuer', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 't' }, onJobStart: (job: { name: string; permissions: Record<string, string> }) => void started.push(job) };
    await expect(run(caller('greedy.yml'), push, { 'greedy.yml': called('permissions: { contents: write, deployments: write }') }, settings)).rejects.toThrow(
      "call / inner: GitHub would not start this run: The nested job 'inner' is requesting 'contents: write', but is only allowed 'contents: read'.",
    );
    // Refused before anything ran.
    expect(started).toEqual([]);
    const result = await run(caller('inherits.yml'), push, { 'inherits.yml': called('') }, settings);
    expect(result.job('call / inner').permissions).toMatchObject({ contents: 'read', deployments: 'write', 'id-token': 'none', issues: 'none' });
    expect(result.job('call / inner').summary).toBe('oidc=none\n');
    expect(result.job('plain').summary).toBe('oidc=http://issuer\n');
    expect(started.map((j) => [j.name, j.permissions.deployments])).toEqual([
      ['plain', 'none'],
      ['call / inner', 'write'],
    ]);
  });

  it('gives a pull request from a fork no secrets and a read-only token', async () => {
    const fork = pullRequestEvent(repo, { number: 9, head: 'evil', headSha: 'c'.repeat(40), fork: true });
    const result = await run(
      `
on: pull_request
jobs:
  build:
    runs-on: ubuntu-latest
    permissions: { contents: write }
    steps:
      - env: { KEY: "\${{ secrets.DEPLOY_KEY }}" }
        run: echo "key=\${KEY:-none}" >> "$GITHUB_STEP_SUMMARY"
`,
      fork,
    );
    expect(result.job('build')).toMatchObject({ summary: 'key=none\n', permissions: { contents: 'read' } });
  });

  it("holds a job to its environment's deployment branches and required reviewers", async () => {
    const workflow = `
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: production
    steps: [{ run: 'echo ran >> "$GITHUB_STEP_SUMMARY"' }]
`;
    const reviews: string[] = [];
    const environments = (approve: boolean) => ({ production: { deploymentRefs: ['main', 'v*'], review: ({ job, ref }: { job: string; ref: string }) => (reviews.push(`${job}@${ref}`), approve) } });
    const fromDev = await run(workflow, pushEvent(repo, { branch: 'dev', sha: 'a'.repeat(40) }), {}, { environments: environments(true) });
    expect(fromDev.job('deploy')).toMatchObject({ result: 'failure', steps: [], refusedBecause: 'refs/heads/dev is not allowed to deploy to production due to environment protection rules' });
    expect(reviews).toEqual([]);
    const rejected = await run(workflow, push, {}, { environments: environments(false) });
    expect(rejected.job('deploy')).toMatchObject({ result: 'failure', refusedBecause: 'a required reviewer of production rejected the deployment' });
    const approved = await run(workflow, push, {}, { environments: environments(true) });
    expect(approved.job('deploy')).toMatchObject({ result: 'success', summary: 'ran\n' });
    expect(reviews).toEqual(['deploy@refs/heads/main', 'deploy@refs/heads/main']);
  });

  it('runs jobs for this machine\'s runner labels here and hands the others to the remoteRunner stand-in, artifacts included', async () => {
    const workflow = `
on: push
jobs:
  build:
    strategy:
      matrix:
        include: [{ system: x86_64-linux, runner: ubuntu-latest }, { system: aarch64-linux, runner: ubuntu-24.04-arm }]
    runs-on: \${{ matrix.runner }}
    steps:
      - run: mkdir out && echo "built-here-\${{ matrix.system }}" > "out/\${{ matrix.system }}.txt"
      - uses: actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2
        with: { name: "leg-\${{ strategy.job-index }}", path: out/*.txt }
  merge:
    needs: build
    runs-on: [ubuntu-latest]
    outputs: { all: "\${{ steps.cat.outputs.all }}" }
    steps:
      - uses: actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093 # v4.3.0
        with: { pattern: "leg-*", merge-multiple: true }
      - id: cat
        run: echo "all=$(cat *.txt | sort | tr '\\n' ' ')" >> "$GITHUB_OUTPUT"
`;
    const asked: unknown[] = [];
    const result = await run(workflow, push, {}, {
      remoteRunner: (leg) => {
        asked.push({ name: leg.name, runsOn: leg.runsOn, matrix: leg.matrix, index: leg.strategy['job-index'] });
        return { result: 'success', artifacts: { 'leg-1': { 'aarch64-linux.txt': 'built-elsewhere-aarch64-linux\n' } } };
      },
    });
    expect(asked).toEqual([{ name: 'build (aarch64-linux, ubuntu-24.04-arm)', runsOn: ['ubuntu-24.04-arm'], matrix: { system: 'aarch64-linux', runner: 'ubuntu-24.04-arm' }, index: 1 }]);
    expect(result.job('build (x86_64-linux, ubuntu-latest)')).toMatchObject({ result: 'success', runsOn: ['ubuntu-latest'] });
    expect(result.job('build (x86_64-linux, ubuntu-latest)').ranRemotely).toBeUndefined();
    expect(result.job('build (aarch64-linux, ubuntu-24.04-arm)')).toMatchObject({ result: 'success', steps: [], ranRemotely: true });
    expect(result.conclusions.merge?.outputs.all).toBe('built-elsewhere-aarch64-linux built-here-x86_64-linux ');

    await expect(run(workflow)).rejects.toThrow('build (aarch64-linux, ubuntu-24.04-arm): no runner here has the labels ubuntu-24.04-arm');
  });

  it.each(['small-ssh-fleet', 'msf-pull-fleet', 'mercury-aws-fleet'])('loads examples/workflows/%s.yml and every reusable workflow it calls, each granted what it asks for', async (name) => {
    const workflow = await loadWorkflow(join(repoRoot, 'examples', 'workflows', `${name}.yml`));
    expect(workflow.called.size).toBeGreaterThan(0);
    for (const called of workflow.called.values()) expect(called.file).toMatch(/^\.github\/workflows\/[\w-]+\.yml$/);
    expect(() => checkWorkflowPermissions(workflow)).not.toThrow();
  });
});

import type { Value } from './values.js';

export type Outcome = 'success' | 'failure' | 'skipped';

export interface StepRecord {
  id: string;
  name: string;
  /** `uses:` as written, or undefined for a `run:` step. */
  uses?: string;
  /** Before continue-on-error (steps.<id>.outcome). */
  outcome: Outcome;
  /** After continue-on-error (steps.<id>.conclusion). */
  conclusion: Outcome;
  /** The `with:` values an action step was given, evaluated (secrets included: this is a test record). */
  inputs: Record<string, string>;
  outputs: Record<string, string>;
  stdout: string;
  stderr: string;
  summary: string;
  /** `::error::`, `::warning::` and `::notice::` lines of an action step. */
  annotations: { level: string; message: string }[];
}

export interface JobRecord {
  /** Path of the job in the run: `deploy`, `build / plan`, `build / build (web1,web2)`. */
  name: string;
  result: Outcome;
  outputs: Record<string, string>;
  steps: StepRecord[];
  /** Every step's GITHUB_STEP_SUMMARY, in order: the job's summary on the run page. */
  summary: string;
  /** `environment:` of the job, evaluated (GitHub applies its protection rules and secrets). */
  environment?: string;
  /** What the job's GITHUB_TOKEN may do: its `permissions:`, capped by the calling job's. Absent for skipped jobs. */
  permissions?: Record<string, 'none' | 'read' | 'write'>;
  matrix?: Record<string, Value>;
  /** `runs-on:` of the job, evaluated: the labels of the runner it asked for. */
  runsOn?: string[];
  /** Set when no local runner has those labels and the `remoteRunner` stand-in answered for it. */
  ranRemotely?: true;
  /** Why the job was skipped: its `if:` as evaluated. */
  skippedBecause?: string;
  /** Why the job failed before any step ran: its environment's protection rules refused it. */
  refusedBecause?: string;
}

/** A job as the caller's `needs` sees it, matrix legs and called workflows folded into one. */
export interface JobConclusion {
  result: Outcome;
  outputs: Record<string, string>;
}

export interface WorkflowRunResult {
  /** Every job and matrix leg that was considered, in the order they ran, nested ones included. */
  jobs: JobRecord[];
  /** Top-level jobs of the workflow as `needs` sees them. */
  conclusions: Record<string, JobConclusion>;
  result: 'success' | 'failure';
  /** What the run's jobs uploaded (actions/upload-artifact), by artifact name. */
  artifacts: ArtifactStore;
  /** The job (or leg) named exactly `name`; throws if there is none. */
  job(name: string): JobRecord;
}

/** Artifacts uploaded during one run, by name: file name → content. */
export type ArtifactStore = Map<string, Map<string, Buffer>>;

/** A repository environment's settings, as Settings → Environments holds them. */
export interface Environment {
  vars?: Record<string, string>;
  secrets?: Record<string, string>;
  /** Deployment branches and tags (patterns such as `main`, `v*`); unset allows every ref. */
  deploymentRefs?: string[];
  /** Required reviewers: called when a job waits for approval; false rejects it (the job fails). */
  review?: (request: { job: string; environment: string; ref: string; sha: string }) => boolean | Promise<boolean>;
}

export interface RunnerSettings {
  /** owner/name of the repository the workflow runs in. */
  repository: string;
  /** Where the actions/checkout stand-in clones from (the GitHub emulator's `cloneUrl`). */
  cloneUrl?: string;
  github: { apiUrl: string; graphqlUrl: string; serverUrl: string; token: string };
  vars?: Record<string, string>;
  secrets?: Record<string, string>;
  /** Settings of the repository's environments: their variables and secrets reach jobs that name them. */
  environments?: Record<string, Environment>;
  /** The machine's environment for every step (PATH, HOME, XDG_CACHE_HOME, …). */
  machineEnv?: Record<string, string>;
  /** nix.conf lines the install-nix stand-ins "install" (exported as NIX_CONFIG). */
  nixConfig?: string;
  /** Time limit of one step (default 20 minutes). */
  stepTimeoutMs?: number;
  /**
   * ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN of an OIDC issuer: given to the steps of jobs with
   * `id-token: write` only, as GitHub does.
   */
  oidcEnv?: Record<string, string>;
  /**
   * Runner labels this machine stands in for (default LOCAL_RUNNER_LABELS). A job whose `runs-on`
   * asks for another runner (an ARM one, say) does not run here: `remoteRunner` answers for it,
   * and without one the job fails.
   */
  localRunners?: readonly string[];
  /** Stands in for a runner of another kind: what its job would conclude, output and upload. */
  remoteRunner?: (leg: RemoteLeg) => RemoteOutcome | Promise<RemoteOutcome>;
  /** Called as each job starts, e.g. to give the GitHub emulator's token the job's permissions. */
  onJobStart?: (job: { name: string; permissions: Record<string, 'none' | 'read' | 'write'>; environment?: string }) => void | Promise<void>;
}

/** A job (matrix leg) for a runner this machine is not: what the `remoteRunner` stand-in is given. */
export interface RemoteLeg {
  name: string;
  runsOn: string[];
  /** The called workflow's (or the caller's) `inputs`, and the leg's `matrix` and `strategy`. */
  inputs: Record<string, Value>;
  matrix: Record<string, Value>;
  strategy: Record<string, Value>;
}

export interface RemoteOutcome {
  result: Outcome;
  outputs?: Record<string, string>;
  /** Artifacts the job uploads: artifact name → file name → content. */
  artifacts?: Record<string, Record<string, string>>;
  summary?: string;
}

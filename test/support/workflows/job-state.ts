import type { ArtifactStore, Outcome, RunnerSettings, StepRecord } from './types.js';
import type { TriggerEvent } from './events.js';
import type { Value } from './values.js';

/** What one running job (or matrix leg) holds while its steps run. */
export interface JobState {
  /** `build / build (web1)`: for messages and records. */
  where: string;
  workspace: string;
  /** RUNNER_TEMP; also holds the step files. */
  tempDir: string;
  settings: RunnerSettings;
  artifacts: ArtifactStore;
  event: TriggerEvent;
  eventPath: string;
  /** github, vars, secrets, inputs, needs, matrix, strategy, job, runner: fixed for the job. */
  contexts: Record<string, Value>;
  /** Workflow and job `env:`, then whatever steps append to GITHUB_ENV. */
  env: Record<string, string>;
  /** What the runner itself gives every step of this job (the OIDC request variables with `id-token: write`). */
  runnerEnv: Record<string, string>;
  /** Folders steps added to GITHUB_PATH, newest first. */
  path: string[];
  /** `defaults.run` of the workflow and the job. */
  runDefaults: { shell?: string; 'working-directory'?: string };
  steps: Record<string, { outputs: Record<string, string>; outcome: Outcome; conclusion: Outcome }>;
  failed: boolean;
  records: StepRecord[];
}

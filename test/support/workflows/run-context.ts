import type { TriggerEvent } from './events.js';
import type { ArtifactStore, JobRecord, RunnerSettings } from './types.js';
import type { Value } from './values.js';

/** What every job of one workflow run shares. */
export interface RunContext {
  settings: RunnerSettings;
  event: TriggerEvent;
  /** GITHUB_EVENT_PATH: the event payload, written once. */
  eventPath: string;
  /** Workspaces and temp folders of the run's jobs live here. */
  dir: string;
  artifacts: ArtifactStore;
  github: Record<string, Value>;
  /** Every job and leg, in the order they ran. */
  records: JobRecord[];
}

import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { convertWorkflowTemplate, isSequence, isString, NoOperationTraceWriter, parseWorkflow, type WorkflowTemplate } from '@actions/workflow-parser';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import type { MappingToken } from '@actions/workflow-parser/templates/tokens/mapping-token';
import type { FileReference } from '@actions/workflow-parser/workflows/file-reference';
import { repoRoot } from '../harness.js';
import { findKey } from './tokens.js';

/** This repository as users name it in `uses:`. */
export const OUR_REPOSITORY = 'fleet-nix/fleet';

export interface LoadedWorkflow {
  file: string;
  template: WorkflowTemplate;
  /** The parsed document: the converter drops a step's `with:`, `shell:` and `working-directory:`. */
  root: MappingToken;
  /** The reusable workflows its jobs call, by their `uses:` value. */
  called: Map<string, LoadedWorkflow>;
}

/**
 * `fleet-nix/fleet/.github/workflows/X.yml@v1` → this checkout's file; `./.github/workflows/X.yml` →
 * the file under `localRoot` (this checkout too, unless a test gives its own folder of workflows).
 */
export function reusableWorkflowFile(uses: string, localRoot = repoRoot): string | undefined {
  const ours = new RegExp(`^${OUR_REPOSITORY}/(\\.github/workflows/[\\w.-]+\\.ya?ml)@[\\w./-]+$`).exec(uses);
  if (ours) return join(repoRoot, ours[1] as string);
  const local = /^\.\/(\.github\/workflows\/[\w.-]+\.ya?ml)$/.exec(uses);
  return local ? join(localRoot, local[1] as string) : undefined;
}

function referenceFile(ref: FileReference, localRoot: string): string {
  const uses = 'owner' in ref ? `${ref.owner}/${ref.repository}/${ref.path}@${ref.version}` : `./${ref.path}`;
  const file = reusableWorkflowFile(uses, localRoot);
  if (!file) throw new Error(`reusable workflow ${uses} is not one of ${OUR_REPOSITORY}'s: the journey runner has no copy of it`);
  return file;
}

/**
 * Parses a workflow with GitHub's parser and converts it, loading the reusable workflows it calls
 * (which checks the inputs and secrets each call passes against what the called workflow declares).
 * Any error the parser reports fails the load.
 */
export async function loadWorkflow(file: string, localRoot = repoRoot): Promise<LoadedWorkflow> {
  const name = relative(repoRoot, file).startsWith('..') ? file : relative(repoRoot, file);
  const content = await readFile(file, 'utf8');
  const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  const failed = (errors: { message: string }[]): never => {
    throw new Error(`${name} does not parse as GitHub parses it:\n${errors.map((e) => `  ${e.message}`).join('\n')}`);
  };
  if (!parsed.value) failed(parsed.context.errors.getErrors());
  const fileProvider = {
    getFileContent: async (ref: FileReference) => {
      const path = referenceFile(ref, localRoot);
      return { name: relative(repoRoot, path), content: await readFile(path, 'utf8') };
    },
  };
  const template = await convertWorkflowTemplate(parsed.context, parsed.value as TemplateToken, fileProvider, { fetchReusableWorkflowDepth: 1 });
  const errors = [...parsed.context.errors.getErrors(), ...(template.errors ?? []).map((e) => ({ message: e.Message }))];
  if (errors.length > 0) failed(errors);
  const called = new Map<string, LoadedWorkflow>();
  for (const job of template.jobs) {
    if (job.type !== 'reusableWorkflowJob' || called.has(job.ref.value)) continue;
    const path = reusableWorkflowFile(job.ref.value, localRoot);
    if (!path) throw new Error(`${name}: job ${job.id.value} calls ${job.ref.value}, which the journey runner cannot load (only ${OUR_REPOSITORY}'s workflows)`);
    called.set(job.ref.value, await loadWorkflow(path, localRoot));
  }
  return { file: name, template, root: parsed.value as MappingToken, called };
}

/** A job's mapping as written (jobs.<id>). */
export function rawJob(workflow: LoadedWorkflow, jobId: string): MappingToken {
  const job = findKey(findKey(workflow.root, 'jobs'), jobId);
  if (!job) throw new Error(`${workflow.file}: no job ${jobId}`);
  return job as MappingToken;
}

/** `on: EVENT` or `on: [EVENT, …]` names the event. */
function namesEvent(on: TemplateToken, event: string): boolean {
  if (isString(on)) return on.value === event;
  if (!isSequence(on)) return false;
  for (let i = 0; i < on.count; i++) {
    const item = on.get(i);
    if (isString(item) && item.value === event) return true;
  }
  return false;
}

/** `on.workflow_call` as written: inputs (with types and defaults), secrets, outputs. */
export function workflowCallDefinition(workflow: LoadedWorkflow): { inputs?: MappingToken; secrets?: MappingToken; outputs?: MappingToken } | undefined {
  const on = findKey(workflow.root, 'on');
  // `on: workflow_call` and `on: [push, workflow_call]` declare no inputs, secrets or outputs.
  if (on && (isString(on) || isSequence(on))) return namesEvent(on, 'workflow_call') ? {} : undefined;
  const call = findKey(on, 'workflow_call');
  if (!call) return undefined;
  return {
    inputs: findKey(call, 'inputs') as MappingToken | undefined,
    secrets: findKey(call, 'secrets') as MappingToken | undefined,
    outputs: findKey(call, 'outputs') as MappingToken | undefined,
  };
}

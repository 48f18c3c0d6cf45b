import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SimulatedHost } from '../hosts/index.js';
import type { CommandDocument, ManagedInstance } from './ssm.js';

/**
 * The script SSM Agent runs for a document's first step: `{{ name }}` replaced by the parameter's
 * text, and (interpolationType ENV_VAR, agents from 3.3) SSM_<name> set to it.
 */
export function documentScript(document: Pick<CommandDocument, 'mainSteps'>, values: Record<string, string>): { script: string; env: Record<string, string> } {
  const script = (document.mainSteps[0]?.inputs.runCommand ?? []).join('\n').replace(/\{\{\s*(\w+)\s*\}\}/g, (_, key: string) => values[key] ?? '');
  return { script, env: Object.fromEntries(Object.entries(values).map(([k, v]) => [`SSM_${k}`, v])) };
}

/** A simulated host as an SSM managed instance: the agent runs scripts there as root (NixOS's /bin/sh is bash). */
export function managedInstanceOn(host: SimulatedHost, id: string, tags: Record<string, string> = {}): ManagedInstance {
  let runs = 0;
  return {
    id,
    tags,
    async run(script, env) {
      const file = join(host.root, `ssm-${id}-${++runs}.sh`);
      await writeFile(file, `${script}\n`);
      return host.ssh(['env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'bash', file], { timeoutMs: 300_000 });
    },
  };
}

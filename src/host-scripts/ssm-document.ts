import { readFileSync } from 'node:fs';
import { shipped } from './index.js';

/**
 * The NixOS-Deploy SSM document, made from its script at build time (scripts/ssm-document.ts): kept
 * apart from index.ts so that no bundle carries it.
 */

/** host/aws/ssm-deploy.sh: the script of the NixOS-Deploy SSM document. */
export const ssmDeployScript = shipped('aws/ssm-deploy.sh', () => readFileSync(new URL('../../host/aws/ssm-deploy.sh', import.meta.url), 'utf8'));

/** An SSM command document (schema 2.2) whose first step's script is left out. */
interface SsmDocumentTemplate {
  mainSteps: { inputs: Record<string, unknown> }[];
  [field: string]: unknown;
}

/**
 * host/aws/NixOS-Deploy.json: host/aws/ssm-document.json with host/aws/ssm-deploy.sh (library
 * inlined, no shebang: SSM runs the lines itself) as its first step's `runCommand`. Written by
 * `npm run build`; a test fails when the committed file differs.
 */
export function renderSsmDocument(templateJson: string, script: string): string {
  const document = JSON.parse(templateJson) as SsmDocumentTemplate;
  const step = document.mainSteps[0];
  if (!step) throw new Error('the SSM document template has no step');
  step.inputs.runCommand = script.replace(/^#!.*\n/, '').replace(/\n+$/, '').split('\n');
  return `${JSON.stringify(document, null, 2)}\n`;
}

export const ssmDocumentTemplate = () => readFileSync(new URL('../../host/aws/ssm-document.json', import.meta.url), 'utf8');

import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEPLOY_ACTIONS } from '../../../src/deploy/types.js';
import { commandTargets, DOCUMENT_PATTERNS, documentParameters, parseDocumentOutput } from '../../../src/deploy/aws-ssm/index.js';
import { renderSsmDocument, ssmDeployScript, ssmDocumentTemplate } from '../../../src/host-scripts/ssm-document.js';

interface DocumentParameter {
  type: string;
  default?: string;
  allowedPattern?: string;
  allowedValues?: string[];
  interpolationType?: string;
}
interface CommandDocument {
  schemaVersion: string;
  parameters: Record<string, DocumentParameter>;
  mainSteps: { action: string; name: string; inputs: { runCommand: string[]; timeoutSeconds: string } }[];
}

const document = JSON.parse(readFileSync(fileURLToPath(new URL('../../../host/aws/NixOS-Deploy.json', import.meta.url)), 'utf8')) as CommandDocument;
const script = document.mainSteps[0]?.inputs.runCommand.join('\n') ?? '';
const SYSTEM = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-api-24.11';

describe('the NixOS-Deploy document', () => {
  it('is generated from host/aws/ssm-deploy.sh and ssm-document.json (run npm run build after changing them)', () => {
    const committed = readFileSync(fileURLToPath(new URL('../../../host/aws/NixOS-Deploy.json', import.meta.url)), 'utf8');
    expect(committed).toBe(renderSsmDocument(ssmDocumentTemplate(), ssmDeployScript()));
    expect(script).toContain('fleet_rollback_action() {');
    expect(script).not.toMatch(/fleet:inline|dirname "\$0"|^#!/m);
  });

  it('is a schema 2.2 command document with one shell step', () => {
    expect(document.schemaVersion).toBe('2.2');
    expect(document.mainSteps).toHaveLength(1);
    expect(document.mainSteps[0]).toMatchObject({ action: 'aws:runShellScript', name: 'deployNixOS', inputs: { timeoutSeconds: '{{ executionTimeout }}' } });
  });

  it('takes exactly the parameters the transport sends', () => {
    const sent = documentParameters({ system: SYSTEM, substituters: ['https://c.example'], action: 'switch', rollback: 'auto', executionTimeoutSeconds: 600 });
    expect(Object.keys(sent).sort()).toEqual(Object.keys(document.parameters).sort());
  });

  it('has the same allowed patterns as the transport checks', () => {
    for (const [name, pattern] of Object.entries(DOCUMENT_PATTERNS)) {
      expect([name, document.parameters[name]?.allowedPattern]).toEqual([name, pattern]);
    }
    expect(document.parameters.action?.allowedValues).toEqual([...DEPLOY_ACTIONS]);
    expect(document.parameters.rollback?.allowedValues).toEqual(['auto', 'off']);
  });

  it('lets no quote, $, backtick or backslash into any string parameter', () => {
    for (const [name, parameter] of Object.entries(document.parameters)) {
      if (!parameter.allowedPattern) {
        expect([name, parameter.allowedValues?.length]).toEqual([name, expect.any(Number)]);
        continue;
      }
      const pattern = new RegExp(parameter.allowedPattern);
      for (const evil of ["'", '"', '$(id)', '`id`', '\\', '\n', ';', '}']) expect([name, evil, pattern.test(`a${evil}`)]).toEqual([name, evil, false]);
    }
  });

  it('reads every parameter from SSM_ variables, with a quoted fallback for older agents', () => {
    for (const name of ['storePath', 'substituters', 'action', 'rollback']) {
      expect(document.parameters[name]?.interpolationType).toBe('ENV_VAR');
      expect(script).toContain(`if [ -z "\${SSM_${name}+x}" ]; then SSM_${name}='{{ ${name} }}'; fi`);
    }
    const referenced = [...script.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]);
    for (const name of referenced) expect(Object.keys(document.parameters)).toContain(name);
  });

  it('takes no keys: what an instance trusts is its own nix.conf, never what a command sender passes', () => {
    expect(Object.keys(document.parameters).sort()).toEqual(['action', 'executionTimeout', 'rollback', 'storePath', 'substituters']);
    expect(script).not.toMatch(/trusted-public-keys "\$|trustedPublicKeys/);
    expect(script).toContain('--option require-sigs true');
  });

  it('runs strict (set -euo pipefail) and uses exit 194 to reboot', () => {
    expect(document.mainSteps[0]?.inputs.runCommand[0]).toBe('set -euo pipefail');
    expect(script).toContain('exit 194');
    expect(script).toContain('nix build "$@" --no-link --profile "$profile" "$system"');
  });
});

describe('documentParameters and commandTargets', () => {
  it('joins lists with spaces and refuses bad values', () => {
    expect(documentParameters({ system: SYSTEM, substituters: ['https://a', 's3://b?region=eu-west-1'], action: 'reboot', rollback: 'off', executionTimeoutSeconds: 90.5 })).toEqual({
      storePath: [SYSTEM],
      substituters: ['https://a s3://b?region=eu-west-1'],
      action: ['reboot'],
      rollback: ['off'],
      executionTimeout: ['91'],
    });
    expect(() => documentParameters({ system: '/nix/store/x', substituters: [], action: 'switch', rollback: 'auto', executionTimeoutSeconds: 1 })).toThrow(/not one the NixOS-Deploy document accepts/);
  });

  it('targets instance ids or tags, not both, within SSM’s limits', () => {
    expect(commandTargets({ method: 'aws-ssm', instanceIds: ['i-0123456789abcdef0', 'mi-0123456789abcdef0'] }, 'h')).toEqual({ InstanceIds: ['i-0123456789abcdef0', 'mi-0123456789abcdef0'] });
    expect(commandTargets({ method: 'aws-ssm', tags: { Role: 'web' } }, 'h')).toEqual({ Targets: [{ Key: 'tag:Role', Values: ['web'] }] });
    expect(() => commandTargets({ method: 'aws-ssm', instanceIds: ['i-0123456789abcdef0'], tags: { Role: 'web' } }, 'h')).toThrow(/not both/);
    expect(() => commandTargets({ method: 'aws-ssm' }, 'h')).toThrow(/give instance-ids or tags/);
    expect(() => commandTargets({ method: 'aws-ssm', instanceIds: Array.from({ length: 51 }, (_, i) => `i-${String(i).padStart(17, '0')}`) }, 'h')).toThrow(/at most 50 instance ids/);
  });
});

describe('parseDocumentOutput', () => {
  it('reads the key=value lines and the last message, ignoring stderr', () => {
    const out = `fleet: before=${SYSTEM}\nfleet: rolled back to ${SYSTEM}: x\nfleet: current=${SYSTEM}\nfleet: booted=\nfleet: generation=7\nfleet: exit=10\n\n----------ERROR-------\nfleet: injected=1 from stderr? still parsed as a message\n`;
    expect(parseDocumentOutput(out)).toEqual({ before: SYSTEM, current: SYSTEM, generation: 7, exit: 10, message: 'injected=1 from stderr? still parsed as a message' });
    expect(parseDocumentOutput(undefined)).toEqual({});
  });
});

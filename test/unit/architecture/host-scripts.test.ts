import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inlineSources, sshHelperScript } from '../../../src/host-scripts/index.js';

const ROOT = join(import.meta.dirname, '../../..');
const tracked = (pattern: string) => execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', pattern], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);

describe('host-side code', () => {
  it('is shell in real files that shellcheck passes', () => {
    const scripts = tracked('*.sh').filter((f) => !f.includes('/dist/')).concat(tracked('.ci/*').filter((f) => readFileSync(join(ROOT, f), 'utf8').startsWith('#!/usr/bin/env bash')), ['scripts/demo']);
    expect(scripts).toEqual(expect.arrayContaining(['host/ssh/fleet-helper.sh', 'host/agent/fleet-agent.sh', 'host/aws/ssm-deploy.sh', 'host/aws/user-data.sh', 'host/lib/system.sh', 'host/cache-server/fleet-cache-credentials.sh']));
    const result = (() => {
      try {
        return execFileSync('shellcheck', ['--external-sources', '--source-path=SCRIPTDIR', ...scripts], { cwd: ROOT, encoding: 'utf8' });
      } catch (error) {
        return (error as { stdout?: string }).stdout ?? String(error);
      }
    })();
    expect(result).toBe('');
  });

  it('is never a script inside a TypeScript string of the product', () => {
    const sources = tracked('*.ts').filter((f) => /^(src|cli\/src|action-[a-z-]+\/src)\//.test(f));
    const offenders = sources.filter((f) => /['"`]#!\/(usr\/)?bin\/(env )?(ba)?sh/.test(readFileSync(join(ROOT, f), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('ships the helper with the shared library inlined', () => {
    const helper = sshHelperScript();
    expect(helper).toMatch(/^#!\/bin\/sh\n/);
    expect(helper).toContain('# --- lib/system.sh (inlined) ---\n');
    expect(helper).toContain('fleet_lock_take() {');
    expect(helper).not.toMatch(/fleet:inline|shellcheck source=/);
  });

  it('inlines a sourced file relative to the script, and only marked lines', () => {
    const read = (path: string) => (path === 'lib/x.sh' ? '# shellcheck shell=sh\nx() { :; }\n' : `unexpected ${path}`);
    const script = ['#!/bin/sh', '# shellcheck source=../lib/x.sh', '. "$(dirname "$0")/../lib/x.sh" # fleet:inline', '. ./other.sh', 'x'].join('\n');
    expect(inlineSources(script, 'ssh/a.sh', read)).toBe(['#!/bin/sh', '# --- lib/x.sh (inlined) ---', 'x() { :; }', '# --- end of lib/x.sh ---', '. ./other.sh', 'x'].join('\n'));
  });
});

import { DEFAULT_RUNNERS, parseRunners, planBuildLegs } from '../../../src/pipeline/build-plan.js';
import type { BuildTarget } from '../../../src/pipeline/targets.js';

const host = (name: string, system?: string): BuildTarget => ({ name, installable: `.#${name}`, kind: 'host', ...(system ? { system } : {}) });
const runners = parseRunners(DEFAULT_RUNNERS);

describe('planBuildLegs', () => {
  it('gives each system its own jobs, in the order systems first appear, hosts dealt round-robin', () => {
    const targets = [host('a', 'x86_64-linux'), host('arm1', 'aarch64-linux'), host('b', 'x86_64-linux'), host('c', 'x86_64-linux'), host('arm2', 'aarch64-linux')];
    expect(planBuildLegs(targets, { shards: 2, runners, defaultSystem: 'x86_64-linux' })).toEqual([
      { system: 'x86_64-linux', 'runs-on': 'ubuntu-latest', hosts: 'a,c' },
      { system: 'x86_64-linux', 'runs-on': 'ubuntu-latest', hosts: 'b' },
      { system: 'aarch64-linux', 'runs-on': 'ubuntu-24.04-arm', hosts: 'arm1' },
      { system: 'aarch64-linux', 'runs-on': 'ubuntu-24.04-arm', hosts: 'arm2' },
    ]);
  });

  it('never plans an empty job, and puts hosts without a system on the default one', () => {
    expect(planBuildLegs([host('a'), host('b')], { shards: 8, runners, defaultSystem: 'aarch64-linux' })).toEqual([
      { system: 'aarch64-linux', 'runs-on': 'ubuntu-24.04-arm', hosts: 'a' },
      { system: 'aarch64-linux', 'runs-on': 'ubuntu-24.04-arm', hosts: 'b' },
    ]);
    expect(planBuildLegs([], { shards: 4, runners, defaultSystem: 'x86_64-linux' })).toEqual([]);
  });

  it('refuses a system without a runner, naming its hosts and the line to add', () => {
    expect(() => planBuildLegs([host('r1', 'riscv64-linux'), host('r2', 'riscv64-linux')], { shards: 1, runners, defaultSystem: 'x86_64-linux' })).toThrow(
      'no runner for riscv64-linux (hosts r1, r2): add a line such as "riscv64-linux: <runner label>" to the runners input',
    );
  });
});

describe('parseRunners', () => {
  it('reads a label or a list of labels per system', () => {
    expect([...parseRunners('x86_64-linux: ubuntu-latest\naarch64-linux: [self-hosted, ARM64]')]).toEqual([
      ['x86_64-linux', 'ubuntu-latest'],
      ['aarch64-linux', ['self-hosted', 'ARM64']],
    ]);
  });

  it.each([
    ['ubuntu-latest', '"ubuntu-latest" is not "system: runner label" lines'],
    ['x86_64-linux: [a, b', 'is not "system: runner label" lines'],
    ['linux: ubuntu-latest', '"linux" is not a Nix system'],
    ['x86_64-linux: ubuntu latest', 'the runner of x86_64-linux, "ubuntu latest", is not a runner label'],
    ['x86_64-linux: []', 'the runner of x86_64-linux, [], is not a runner label'],
    ['x86_64-linux: { group: big }', 'is not a runner label'],
  ])('refuses %j', (text, message) => {
    expect(() => parseRunners(text)).toThrow(message);
  });
});

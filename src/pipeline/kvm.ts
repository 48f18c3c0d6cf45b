import { access, constants } from 'node:fs/promises';
import { exec } from '../util/exec.js';
import type { Log } from '../util/log.js';

const UDEV_RULE = 'KERNEL=="kvm", GROUP="kvm", MODE="0666", OPTIONS+="static_node=kvm"\n';

async function usable(device: string): Promise<boolean> {
  return access(device, constants.R_OK | constants.W_OK).then(
    () => true,
    () => false,
  );
}

/**
 * NixOS VM tests are fast with KVM and crawl without it. GitHub-hosted Linux runners have
 * /dev/kvm but not for the runner user until a udev rule opens it.
 */
export async function ensureKvm(log: Log, env: NodeJS.ProcessEnv = process.env, device = '/dev/kvm'): Promise<boolean> {
  if (await usable(device)) return true;
  const githubHosted = env.RUNNER_ENVIRONMENT === 'github-hosted' && env.RUNNER_OS === 'Linux';
  if (githubHosted) {
    try {
      await exec('sudo', ['tee', '/etc/udev/rules.d/99-fleet-kvm.rules'], { input: UDEV_RULE });
      await exec('sudo', ['udevadm', 'control', '--reload-rules']);
      await exec('sudo', ['udevadm', 'trigger', '--name-match=kvm']);
      if (await usable(device)) {
        log.info('enabled /dev/kvm for NixOS VM tests');
        return true;
      }
    } catch (error) {
      log.debug(`enabling KVM failed: ${(error as Error).message}`);
    }
  }
  log.warning('/dev/kvm is not usable: NixOS VM tests will run under software emulation and be slow (use a runner with KVM)', { title: 'No KVM' });
  return false;
}

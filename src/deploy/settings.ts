import { parseDuration } from '../util/duration.js';
import { DEFAULT_DEPLOY_SETTINGS, DEPLOY_ACTIONS, type DeployAction, type DeploySettings, type HealthCheck } from './types.js';

export function parseDeployAction(text: string): DeployAction {
  const value = text.trim() as DeployAction;
  if (!DEPLOY_ACTIONS.includes(value)) {
    throw new Error(`action: "${text}" is not one of ${DEPLOY_ACTIONS.join(', ')} (example: switch)`);
  }
  return value;
}

export function parseRollbackMode(text: string): 'auto' | 'off' {
  const value = text.trim();
  if (value !== 'auto' && value !== 'off') throw new Error(`rollback: "${text}" is not auto or off (example: auto)`);
  return value;
}

/**
 * The `health-checks` input: one shell command per line (commas belong to commands, so lines
 * only), each optionally prefixed with its own time limit in brackets: `[2m] curl -fsS localhost`.
 * Blank lines and lines starting with `#` are ignored.
 */
export function parseHealthChecks(text: string, defaultTimeoutMs = 60_000): HealthCheck[] {
  const checks: HealthCheck[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const prefixed = /^\[([^\]\s]+)\]\s+(.+)$/.exec(line);
    if (prefixed) {
      let timeoutMs: number;
      try {
        timeoutMs = parseDuration(prefixed[1] as string);
      } catch {
        throw new Error(`health-checks: "[${prefixed[1]}]" is not a time limit (example: "[30s] systemctl is-active nginx")`);
      }
      if (timeoutMs < 1000) throw new Error(`health-checks: "[${prefixed[1]}]" is under a second (example: "[30s] systemctl is-active nginx")`);
      checks.push({ command: prefixed[2] as string, timeoutMs });
    } else {
      checks.push({ command: line, timeoutMs: defaultTimeoutMs });
    }
  }
  return checks;
}

/** Defaults filled in and values checked; throws with the setting's name when one is unusable. */
export function resolveDeploySettings(partial: Partial<DeploySettings> = {}): DeploySettings {
  const settings: DeploySettings = { ...DEFAULT_DEPLOY_SETTINGS, ...stripUndefined(partial) };
  parseDeployAction(settings.action);
  parseRollbackMode(settings.rollback);
  const atLeast = (name: string, value: number, min: number, example: string) => {
    if (!Number.isFinite(value) || value < min) throw new Error(`${name}: ${value} is too small (example: ${example})`);
  };
  atLeast('confirm-timeout', settings.confirmTimeoutMs, 1000, '90s');
  atLeast('activation-timeout', settings.activationTimeoutMs, 1000, '10m');
  atLeast('reboot-timeout', settings.rebootTimeoutMs, 1000, '10m');
  atLeast('connect-attempts', settings.connectAttempts, 1, '3');
  if (settings.substituters.length > 0 && settings.trustedPublicKeys.length === 0) {
    throw new Error('trusted-public-keys: required with substituters, or hosts would refuse the unsigned paths (example: cache.example.org-1:AbC…=)');
  }
  return settings;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

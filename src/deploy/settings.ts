import { formatDuration, parseDuration } from '../util/duration.js';
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

/** Limits of one health check's time limit (the `health-check-timeout` input and a line's `[…]` prefix). */
export const HEALTH_CHECK_TIMEOUT_MIN = '1s';
export const HEALTH_CHECK_TIMEOUT_MAX = '1h';
/** Limits of `confirm-timeout`: the host's own rollback timer. */
export const CONFIRM_TIMEOUT_MIN = '1s';
export const CONFIRM_TIMEOUT_MAX = '1h';
export const HEALTH_CHECK_EXAMPLE = '[30s] systemctl is-active nginx';

/** One line of `health-checks`: its command, and its own time limit when the line has one. */
export interface HealthCheckLine {
  command: string;
  timeoutMs?: number;
}

/**
 * The `health-checks` input: one shell command per line (commas belong to commands, so lines
 * only), each optionally prefixed with its own time limit in brackets: `[2m] curl -fsS localhost`.
 * Blank lines and lines starting with `#` are ignored. Throws an Error naming the line.
 */
export function parseHealthCheckLines(text: string): HealthCheckLine[] {
  const checks: HealthCheckLine[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    // `[ -e /run/x ]` is the shell's test command, not a time limit: a limit has no space inside.
    const prefixed = /^\[([^\]\s]+)\]\s*(.*)$/.exec(line);
    if (!prefixed) {
      checks.push({ command: line });
      return;
    }
    const [, limit, command] = prefixed as unknown as [string, string, string];
    const where = `line ${index + 1} ${JSON.stringify(line)}`;
    let timeoutMs: number;
    try {
      timeoutMs = parseDuration(limit);
    } catch {
      throw new Error(`${where}: "[${limit}]" is not a time limit (use s, m or h)`);
    }
    if (timeoutMs > parseDuration(HEALTH_CHECK_TIMEOUT_MAX)) throw new Error(`${where}: the time limit ${limit} is longer than the maximum ${HEALTH_CHECK_TIMEOUT_MAX}`);
    if (timeoutMs < parseDuration(HEALTH_CHECK_TIMEOUT_MIN)) throw new Error(`${where}: the time limit ${limit} is shorter than the minimum ${HEALTH_CHECK_TIMEOUT_MIN}`);
    if (!command) throw new Error(`${where}: the time limit [${limit}] has no command after it`);
    checks.push({ command, timeoutMs });
  });
  return checks;
}

/** The checks, each with its own time limit or else `defaultTimeoutMs`. */
export function withDefaultTimeout(lines: readonly HealthCheckLine[], defaultTimeoutMs: number): HealthCheck[] {
  return lines.map((line) => ({ command: line.command, timeoutMs: line.timeoutMs ?? defaultTimeoutMs }));
}

/** `health-checks` text straight to checks: a line without its own limit gets `defaultTimeoutMs`. */
export function parseHealthChecks(text: string, defaultTimeoutMs = 60_000): HealthCheck[] {
  let lines: HealthCheckLine[];
  try {
    lines = parseHealthCheckLines(text);
  } catch (error) {
    throw new Error(`health-checks: ${(error as Error).message} (example: "${HEALTH_CHECK_EXAMPLE}")`, { cause: error });
  }
  return withDefaultTimeout(lines, defaultTimeoutMs);
}

/** Defaults filled in and values checked; throws with the setting's name when one is unusable. */
export function resolveDeploySettings(partial: Partial<DeploySettings> = {}): DeploySettings {
  const settings: DeploySettings = { ...DEFAULT_DEPLOY_SETTINGS, ...stripUndefined(partial) };
  parseDeployAction(settings.action);
  parseRollbackMode(settings.rollback);
  const atLeast = (name: string, value: number, min: number, example: string) => {
    if (!Number.isFinite(value) || value < min) throw new Error(`${name}: ${value} is too small (example: ${example})`);
  };
  const atMost = (name: string, value: number, max: string, example: string) => {
    if (value > parseDuration(max)) throw new Error(`${name}: ${formatDuration(value)} is longer than the maximum ${max} (example: ${example})`);
  };
  atLeast('confirm-timeout', settings.confirmTimeoutMs, 1000, '90s');
  atMost('confirm-timeout', settings.confirmTimeoutMs, CONFIRM_TIMEOUT_MAX, '90s');
  for (const check of settings.healthChecks) {
    atLeast(`health check "${check.command}": time limit`, check.timeoutMs, parseDuration(HEALTH_CHECK_TIMEOUT_MIN), '60s');
    atMost(`health check "${check.command}": time limit`, check.timeoutMs, HEALTH_CHECK_TIMEOUT_MAX, '60s');
  }
  atLeast('activation-timeout', settings.activationTimeoutMs, 1000, '10m');
  atMost('activation-timeout', settings.activationTimeoutMs, '6h', '10m');
  atLeast('reboot-timeout', settings.rebootTimeoutMs, 1000, '10m');
  atMost('reboot-timeout', settings.rebootTimeoutMs, '6h', '10m');
  atLeast('connect-attempts', settings.connectAttempts, 1, '3');
  if (settings.substituters.length > 0 && settings.trustedPublicKeys.length === 0) {
    throw new Error('trusted-public-keys: required with substituters, or hosts would refuse the unsigned paths (example: cache.example.org-1:AbC…=)');
  }
  return settings;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

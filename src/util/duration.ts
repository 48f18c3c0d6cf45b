const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * The longest delay Node's timers keep (2^31 - 1 ms, about 24.8 days): a longer `setTimeout`
 * fires at once, with only a TimeoutOverflowWarning to say so.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Parses `90s`, `15m`, `2h`, `7d`, `1h30m` (or a bare number of seconds) into milliseconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  const problem = `"${text}" is not a duration (examples: 90s, 15m, 2h, 7d)`;
  let total: number;
  if (/^\d+$/.test(trimmed)) {
    total = Number(trimmed) * 1000;
  } else {
    const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
    if (parts.length === 0 || parts.map((p) => p[0]).join('') !== trimmed) throw new Error(problem);
    total = parts.reduce((sum, [, value, unit]) => sum + Number(value) * (UNITS[unit as string] as number), 0);
  }
  // Hundreds of digits parse to Infinity, which no caller can use.
  if (!Number.isFinite(total)) throw new Error(problem);
  return total;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${Math.round(s % 60)}s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h${m % 60}m` : `${Math.floor(h / 24)}d${h % 24}h`;
}

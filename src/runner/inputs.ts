import * as core from '@actions/core';
import { formatDuration, parseDuration } from '../util/duration.js';
import { redactUrl, urlPasswords } from '../util/redact.js';
import { branchNameProblem } from '../util/ref-name.js';

/** A problem with one input: names it, says what is wrong and shows a good value. */
export class InputError extends Error {
  override name = 'InputError';
  constructor(
    readonly input: string,
    problem: string,
    example: string,
  ) {
    super(`Input "${input}": ${problem}. Example: ${input}: ${example}`);
  }
}

export interface InputParser<T> {
  parse(raw: string, name: string): T;
  /** The longest duration accepted, as action.yml documents it (`1h`); duration inputs only. */
  readonly maximum?: string;
}

type Parsed<S> = { [K in keyof S]: S[K] extends InputParser<infer T> ? T : never };

export type InputReader = (name: string) => string;

/** Reads an input as the runner passes it (INPUT_<NAME>, defaults from action.yml already applied). */
export const readActionInput: InputReader = (name) => core.getInput(name);

/**
 * Parses every input of an action before anything else happens. All problems are reported
 * together, so a user fixes the workflow once, not once per run.
 */
export function parseInputs<S extends Record<string, InputParser<unknown>>>(spec: S, read: InputReader = readActionInput): Parsed<S> {
  const values: Record<string, unknown> = {};
  const problems: InputError[] = [];
  for (const [name, parser] of Object.entries(spec)) {
    try {
      values[name] = parser.parse(read(name).trim(), name);
    } catch (error) {
      if (error instanceof InputError) problems.push(error);
      else throw error;
    }
  }
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) throw new Error(`${problems.length} inputs are invalid:\n${problems.map((p) => `- ${p.message}`).join('\n')}`);
  return values as Parsed<S>;
}

interface Common<T> {
  /** Used when the input is empty; without it (and without `required`) the value is undefined. */
  fallback?: T;
  required?: boolean;
  example: string;
}

function parser<T>(options: Common<T>, convert: (raw: string, name: string) => T): InputParser<T> {
  return {
    parse(raw, name) {
      // A password in a URL (`https://user:pw@cache`) is a secret whatever the input: masked before anything can print it.
      for (const password of urlPasswords(raw)) {
        core.setSecret(password);
        if (password.includes('%')) core.setSecret(decodeURIComponent(password.replace(/%(?![0-9a-f]{2})/gi, '%25')));
      }
      if (raw === '') {
        if (options.fallback !== undefined) return options.fallback;
        if (options.required) throw new InputError(name, 'is required', options.example);
        return undefined as T;
      }
      return convert(raw, name);
    },
  };
}

type Opt<T, O> = O extends { fallback: T } | { required: true } ? T : T | undefined;

/** A value as an error shows it: quoted, credentials in URLs hidden, long ones cut. */
export function shown(raw: string): string {
  const redacted = redactUrl(raw);
  return JSON.stringify(redacted.length > 80 ? `${redacted.slice(0, 77)}…` : redacted);
}

/** `patternProblem` follows the value shown: `"ftp://x" must start with s3://`. */
export function string<O extends Common<string> & { pattern?: RegExp; patternProblem?: string }>(options: O): InputParser<Opt<string, O>> {
  return parser(options, (raw, name) => {
    if (options.pattern && !options.pattern.test(raw)) {
      throw new InputError(name, `${shown(raw)} ${options.patternProblem ?? 'has the wrong form'}`, options.example);
    }
    return raw;
  }) as InputParser<Opt<string, O>>;
}

/** A branch name by git's rules (checked before any API or git call sees it). */
export function branch<O extends Common<string>>(options: O): InputParser<Opt<string, O>> {
  return parser(options, (raw, name) => {
    const problem = branchNameProblem(raw);
    if (problem) throw new InputError(name, `${shown(raw)} ${problem}`, options.example);
    return raw;
  }) as InputParser<Opt<string, O>>;
}

/**
 * A secret: masked in every later log line as soon as it is read; never echoed in errors.
 * Each line of a multi-line secret (an SSH key) is masked too, since the runner only hides a
 * masked value where it appears whole.
 */
export function secret<O extends Common<string> & { problem?: (raw: string) => string | undefined }>(options: O): InputParser<Opt<string, O>> {
  return parser(options, (raw, name) => {
    core.setSecret(raw);
    for (const line of raw.split('\n').map((l) => l.trim())) {
      if (line.length >= 8 && line !== raw) core.setSecret(line);
    }
    // The problem describes the form, never the value: it is a secret.
    const problem = options.problem?.(raw);
    if (problem) throw new InputError(name, problem, options.example);
    return raw;
  }) as InputParser<Opt<string, O>>;
}

/**
 * Newline- or comma-separated values; blank entries and `#` comments are dropped. `problem` checks
 * each entry: it returns what is wrong with one (shown after the entry) or undefined.
 */
export function list(options: Omit<Common<string[]>, 'fallback'> & { fallback?: string[]; problem?: (item: string) => string | undefined }): InputParser<string[]> {
  return parser(options.required ? options : { fallback: [], ...options }, (raw, name) => {
    const items = splitList(raw);
    for (const item of items) {
      const problem = options.problem?.(item);
      if (problem) throw new InputError(name, `${shown(item)} ${problem}`, options.example);
    }
    return items;
  });
}

export function splitList(raw: string): string[] {
  return raw
    .split(/[\n,]/)
    .map((item) => item.replace(/\s+#.*$/, '').trim())
    .filter((item) => item !== '' && !item.startsWith('#'));
}

export function boolean<O extends Common<boolean>>(options: O): InputParser<Opt<boolean, O>> {
  return parser(options, (raw, name) => {
    if (/^(true|yes|on)$/i.test(raw)) return true;
    if (/^(false|no|off)$/i.test(raw)) return false;
    throw new InputError(name, `${shown(raw)} is not a boolean (true or false)`, options.example);
  }) as InputParser<Opt<boolean, O>>;
}

export function integer<O extends Common<number> & { min?: number; max?: number }>(options: O): InputParser<Opt<number, O>> {
  return parser(options, (raw, name) => {
    if (!/^-?\d+$/.test(raw)) throw new InputError(name, `${shown(raw)} is not a whole number`, options.example);
    const value = Number(raw);
    if (options.min !== undefined && value < options.min) throw new InputError(name, `${shown(raw)} is below the minimum ${options.min}`, options.example);
    if (options.max !== undefined && value > options.max) throw new InputError(name, `${shown(raw)} is above the maximum ${options.max}`, options.example);
    return value;
  }) as InputParser<Opt<number, O>>;
}

export interface DurationLimits {
  /** The shortest value accepted, as a duration (`1s`); default 0. */
  min?: string;
  /**
   * The longest value accepted, as a duration (`1h`), documented in action.yml as "at most 1h".
   * Required: an unbounded duration overflows timers and dates.
   */
  max: string;
}

/** Checks a duration against its limits; undefined when it is within them, else the problem. */
function durationLimitProblem(ms: number, raw: string, limits: DurationLimits): string | undefined {
  if (ms > parseDuration(limits.max)) return `${shown(raw)} is longer than the maximum ${limits.max}`;
  if (limits.min !== undefined && ms < parseDuration(limits.min)) return `${shown(raw)} is shorter than the minimum ${limits.min}`;
  return undefined;
}

/** A duration such as `90s`, `15m`, `2h`, `7d`, in milliseconds, within its limits. */
export function duration<O extends Common<number> & DurationLimits>(options: O): InputParser<Opt<number, O>> {
  const maxMs = parseDuration(options.max);
  if (options.fallback !== undefined && options.fallback > maxMs) {
    throw new Error(`the default ${formatDuration(options.fallback)} is above the maximum ${options.max}`);
  }
  const convert = (raw: string, name: string): number => {
    let ms: number;
    try {
      ms = parseDuration(raw);
    } catch {
      throw new InputError(name, `${shown(raw)} is not a duration (use s, m, h or d)`, options.example);
    }
    const problem = durationLimitProblem(ms, raw, options);
    if (problem) throw new InputError(name, problem, options.example);
    return ms;
  };
  return { ...parser(options, convert), maximum: options.max } as InputParser<Opt<number, O>>;
}

/**
 * A value with its own syntax: `convert` returns it parsed or throws an Error saying what is
 * wrong (without the input's name, which the InputError adds, with the example).
 */
export function custom<T, O extends Common<T>>(options: O & { convert: (raw: string) => T }): InputParser<Opt<T, O>> {
  return parser(options, (raw, name) => {
    try {
      return options.convert(raw);
    } catch (error) {
      if (error instanceof InputError || !(error instanceof Error)) throw error;
      throw new InputError(name, error.message, options.example);
    }
  }) as InputParser<Opt<T, O>>;
}

export function choice<const C extends string, O extends Common<C>>(choices: readonly C[], options: O): InputParser<Opt<C, O>> {
  return parser(options, (raw, name) => {
    if (!(choices as readonly string[]).includes(raw)) {
      throw new InputError(name, `${shown(raw)} is not one of ${choices.join(', ')}`, options.example);
    }
    return raw as C;
  }) as InputParser<Opt<C, O>>;
}

/** A count or a share, as `3` or `25%`. */
export type Amount = { count: number } | { percent: number };

export function amount<O extends Common<Amount>>(options: O): InputParser<Opt<Amount, O>> {
  return parser(options, (raw, name) => {
    const match = /^(\d+)(%?)$/.exec(raw);
    if (!match) throw new InputError(name, `${shown(raw)} is not a number or a percentage`, options.example);
    const value = Number(match[1]);
    if (match[2] === '%') {
      if (value > 100) throw new InputError(name, `${shown(raw)} is more than 100%`, options.example);
      return { percent: value };
    }
    return { count: value };
  }) as InputParser<Opt<Amount, O>>;
}

export function json<T, O extends Common<T>>(options: O & { validate?: (value: unknown) => T }): InputParser<Opt<T, O>> {
  return parser(options, (raw, name) => {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new InputError(name, `${shown(raw)} is not valid JSON (${(error as Error).message})`, options.example);
    }
    try {
      return options.validate ? options.validate(value) : (value as T);
    } catch (error) {
      throw new InputError(name, `${shown(raw)}: ${(error as Error).message}`, options.example);
    }
  }) as InputParser<Opt<T, O>>;
}

/** A URL whose scheme is one of `schemes` (without the colon). */
export function url<O extends Common<URL> & { schemes: readonly string[] }>(options: O): InputParser<Opt<URL, O>> {
  return parser(options, (raw, name) => {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new InputError(name, `${shown(raw)} is not a URL`, options.example);
    }
    const scheme = parsed.protocol.replace(/:$/, '');
    if (!options.schemes.includes(scheme)) {
      throw new InputError(name, `the scheme "${scheme}://" is not supported (use ${options.schemes.map((s) => `${s}://`).join(', ')})`, options.example);
    }
    return parsed;
  }) as InputParser<Opt<URL, O>>;
}


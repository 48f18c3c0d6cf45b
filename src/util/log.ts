/**
 * How the core reports progress. The actions back it with @actions/core (groups, annotations),
 * the command line with the console; tests can collect it.
 */
export interface Log {
  debug(message: string): void;
  /** A message fleet wrote (it may quote others' text; the actions' log then guards it as `quoted`). */
  info(message: string): void;
  /**
   * Prints text fleet did not write (Nix's output, a host's stdout or stderr, report fields) as
   * it is, so that none of its lines can act as a workflow command.
   */
  quoted(text: string): void;
  warning(message: string, where?: Annotation): void;
  error(message: string, where?: Annotation): void;
  group<T>(title: string, body: () => Promise<T>): Promise<T>;
  /** Hides a value in every later log line. */
  secret(value: string): void;
}

export interface Annotation {
  title?: string;
  file?: string;
  startLine?: number;
}

export const consoleLog: Log = {
  debug: (m) => {
    if (process.env.FLEET_DEBUG) console.error(`debug: ${m}`);
  },
  info: (m) => console.error(m),
  quoted: (text) => {
    if (text) console.error(text);
  },
  warning: (m) => console.error(`warning: ${m}`),
  error: (m) => console.error(`error: ${m}`),
  group: async (title, body) => {
    console.error(`── ${title}`);
    return body();
  },
  secret: () => {},
};

/** A log that keeps every line, for tests. */
export function memoryLog(): Log & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    debug: (m) => lines.push(`debug: ${m}`),
    info: (m) => lines.push(m),
    quoted: (text) => {
      if (text) lines.push(...text.split('\n'));
    },
    warning: (m) => lines.push(`warning: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
    group: async (title, body) => {
      lines.push(`group: ${title}`);
      return body();
    },
    secret: () => {},
  };
}
